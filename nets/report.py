"""One Markdown report per results folder, built from saved results only (it never trains).

    python -m nets.report RESULTS_DIR      ->  RESULTS_DIR/report.md  (+ figures/ PNGs)

The report assembles the sections the registered experiments return for their saved results, in
registration order; it knows no experiment by name.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from infra.io import atomic_write_text
from infra.tables import markdown_table

PUBLISHED = {  # CIFAR-10 test accuracies (paper and released tables), for context only
    "convactually depth 1/2/4/8 (lambda 1e-5)": ".546/.612/.633/.624",
    "convactually depth 4, lambda 1e-5..0.1": ".628-.641", "myrtle, lambda 1e-5..1e-2": ".836-.869",
    "resnet9": ".912-.936", "convactually depth 4, high-pass data": "~.51",
}


def _load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def build_report(out) -> Path:
    """Write ``out/report.md`` (and figures) from the JSON/NPZ results in ``out``; returns its path."""
    from nets.experiments import experiment_names, get_experiment
    out = Path(out)
    cfg = _load(out / "experiment_config.json") or {}
    lines = [f"# freqsens report: {out}", "",
         f"Dataset **{cfg.get('dataset')}**, preset **{cfg.get('preset')}**, {cfg.get('seeds')} seed(s) per configuration. "
         "Built from saved results only. Quick-preset numbers come from minutes of CPU training on small data: read "
         "them as the qualitative picture, with the spread shown.", ""]
    for name in experiment_names():
        result = _load(out / "experiments" / f"{name}.json")
        if result is not None and "skipped" in result:   # the preset leaves it out, and says why
            lines += [f"## {get_experiment(name).title}", "", f"Not run in this preset: {result['skipped']}", ""]
        elif result is not None:
            lines += get_experiment(name).section(out, result)
    lines += ["## Published CIFAR-10 accuracies (context, not the same data)", ""]
    lines += markdown_table(("setting", "test accuracy"), list(PUBLISHED.items())) + [""]
    timing = _load(out / "timing.json")
    lines += ["## Provenance", "", "```", json.dumps(timing, indent=1, sort_keys=True), "```", ""]
    return atomic_write_text(out / "report.md", "\n".join(lines))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("python -m nets.report: error: RESULTS_DIR: expected one folder written by python -m nets.experiments",
              file=sys.stderr)
        return 2
    print(build_report(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
