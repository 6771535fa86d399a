"""One Markdown report per results folder, built from saved results only (it never trains).

    freqsens report RESULTS_DIR      ->  RESULTS_DIR/report.md  (+ figures/ PNGs)   (nets.cli.report)

The report assembles the sections the registered experiments return for their saved results, in
registration order; it knows no experiment by name.
"""
from __future__ import annotations

import json
from pathlib import Path

from infra.io import atomic_write_text
from infra.tables import markdown_table
from nets.results import Results, read_json
from nets.runs import Run

PUBLISHED = {  # CIFAR-10 test accuracies (paper and released tables), for context only
    "convactually depth 1/2/4/8 (lambda 1e-5)": ".546/.612/.633/.624",
    "convactually depth 4, lambda 1e-5..0.1": ".628-.641", "myrtle, lambda 1e-5..1e-2": ".836-.869",
    "resnet9": ".912-.936", "convactually depth 4, high-pass data": "~.51",
}


class ReportError(ValueError):
    """A saved result the report needs cannot be read; the message names the file and what to do."""


def _load(path: Path):
    """A saved JSON result, None when missing; :class:`ReportError` naming the file when it does not parse."""
    try:
        return read_json(path) if path.exists() else None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: unreadable ({type(exc).__name__}); delete it and re-run the same "
                          "freqsens experiments command to rebuild it (finished training runs are kept)") from None


def _experiment(out, name: str):
    """An experiment's saved result with its run paths resolved against ``out`` (``driver.localise``)."""
    from nets.experiments.sweep import localise
    res = _load(Results(out).experiment(name))
    return localise(res, out) if isinstance(res, dict) else res


def check_results(out) -> None:
    """:class:`ReportError` naming the first saved result of ``out`` that does not parse (read only)."""
    for f in Results(out).experiments() + [Results(out).file("timing")]:
        _load(f)


def build_report(out) -> Path:
    """Write ``out/report.md`` (and figures) from the JSON/NPZ results in ``out``, holding the folder's lock (one
    writer: a running sweep holds it, and the report is refused with a LockError); returns its path."""
    from infra.io import FolderLock
    with FolderLock(out):
        return _build_report(Path(out))


def _build_report(out: Path) -> Path:
    from nets.experiments import experiment_names, get_experiment
    cfg = _load(Results(out).file("config")) or {}
    lines = [f"# freqsens report: {out}", "",
         f"Dataset **{cfg.get('dataset')}**, preset **{cfg.get('preset')}**, {cfg.get('seeds')} seed(s) per configuration. "
         "Built from saved results only. Quick-preset numbers come from minutes of CPU training on small data: read "
         "them as the qualitative picture, with the spread shown.", ""]
    lines += summary_lines(out) + [""]
    for name in experiment_names():
        result = _experiment(out, name)
        if result is not None and "skipped" in result:   # the preset leaves it out, and says why
            lines += [f"## {get_experiment(name).title}", "", f"Not run in this preset: {result['skipped']}", ""]
        elif result is not None:
            lines += get_experiment(name).section(out, result)
    lines += limitations_lines(out, cfg)
    lines += ["## Published CIFAR-10 accuracies (context, not the same data)", ""]
    lines += markdown_table(("setting", "test accuracy"), list(PUBLISHED.items())) + [""]
    timing = _load(Results(out).file("timing"))
    lines += cost_lines(out, timing)
    lines += ["## Provenance", "", "```", json.dumps(timing, indent=1, sort_keys=True), "```", ""]
    return atomic_write_text(Results(out).file("report"), "\n".join(lines))


def cost_lines(out, timing: dict | None) -> list[str]:
    """What the run cost, from ``timing.json`` (written by the first complete ``all`` run): total wall time,
    the shared training pool's wall time, and per experiment its training runs, their summed wall times
    (worker-seconds: on W workers the pool's wall time is about their total / W) and its own analysis time."""
    from nets.experiments import experiment_names
    if not timing or "seconds" not in timing:
        return []
    train = timing.get("training") or {}
    per = train.get("per_experiment", {})
    rows = []
    for name in experiment_names():
        res = _experiment(out, name)
        if res is None or name not in timing.get("experiments", []):
            continue
        t = per.get(name, {})
        rows.append((name, t.get("tasks", 0), t.get("worker_seconds", 0.0),
                     "left out by the preset" if "skipped" in res else res.get("seconds")))
    head = (f"Wall time of the whole run: {timing['seconds']:.0f} s ({timing['seconds'] / 60:.1f} min)"
            + (f"; the shared training pool (every experiment's runs, longest first): {train['seconds']:.0f} s"
               if "seconds" in train else "") + ".")
    return ["## What the run cost", "", head, ""] + markdown_table(
        ("experiment", "training runs", "their wall times summed (worker-s)", "its own step after the pool (s)"),
        rows) + [""]


def training_settings(out) -> list[tuple]:
    """Per experiment, model and data variant: the optimiser, learning rate, schedule, images, epochs, width and
    checkpoint rule its runs used, and the code version that trained them, read from the runs' own ``config.json``
    (what was run, not what was meant)."""
    from nets.experiments import experiment_names
    seen = {}
    for name in experiment_names():
        result = _experiment(out, name) or {}
        for r in result.get("runs", []):
            saved = (_load(Run(r["run"]).file("config")) or {}) if r.get("run") else {}
            cfg = saved.get("config")
            if not cfg:
                continue
            label = (name, cfg["model"], str(r.get("data", cfg.get("filter") or "natural")))
            seen.setdefault(label, set()).add((cfg["optimizer"], cfg["lr"], str(cfg.get("lr_drops") or "plateau"),
                                               cfg.get("n_train"), cfg["max_epochs"], cfg.get("width"),
                                               cfg.get("checkpoint", "best"),
                                               saved.get("code_version", "unrecorded (older code)")))
    return [(*k, *v) for k, vals in seen.items() for v in sorted(vals, key=str)]


def limitations_lines(out, cfg: dict) -> list[str]:
    """What the runs were, so a reader can hold them against the paper: the training settings per variant
    (from the run folders), and the limits of the preset in words."""
    rows = training_settings(out)
    if not rows:
        return []
    lines = ["## Limitations and training settings", "",
             "Every setting below is read from the run folders. The paper trains on all 50,000 CIFAR-10 images for "
             "up to 500 epochs at width 64 with reduce-on-plateau; these runs are far shorter, narrower and on fewer "
             "images, so their accuracies sit below the published ones (last table) and the verdicts are about "
             "these models. Checkpoint rule: `best` = the epoch with the best validation accuracy, `last` = the "
             "model at the end of the schedule; the accuracy, the learning gate and the sensitivity map all come "
             "from that one checkpoint. Code version: a digest of the data, model, measure and training code "
             "(`nets.runs.code_version`) that trained each run; it is part of every task's key, so a change to that "
             "code retrains."]
    if cfg.get("dataset") == "embedded":
        lines[-1] += (" On the embedded data the label is the source photograph: mean colour alone decides much of it "
                      "(see the mean-colour control), which is why the headline statistic leaves the DC term out.")
    lines += [""] + markdown_table(("experiment", "model", "data", "optimiser", "lr", "x0.1 at epochs", "training images",
                                    "epochs", "width", "checkpoint", "code version"), rows) + [""]
    return lines


def verdicts(out) -> list:
    """Every experiment's verdicts (``Experiment.verdicts``: ``summary.Verdict`` rows) from its saved result."""
    from nets.experiments import experiment_names, get_experiment
    rows = []
    for name in experiment_names():
        exp, result = get_experiment(name), _experiment(out, name)
        if exp.verdicts is not None and result is not None and "skipped" not in result:
            rows += exp.verdicts(result)
    return rows


def answer_lines(out) -> list[str]:
    """The answer in sentences, one per claim, from the same verdict rows as the table (``--answer``: the README's
    first screen is this output, never retyped): the claim, its verdict and its headline effect, with the runs
    behind it and their test accuracies."""
    lines = []
    for v in verdicts(out):
        runs = f"; runs used / excluded {v.runs}" if v.runs and "/" in v.runs else ""
        acc = f"; test accuracy {v.accuracy}" if v.accuracy else ""
        lines.append(f"- {v.claim}: **{v.verdict}** ({v.effect.split('; last epoch')[0]}; {v.cis}{runs}{acc}).")
    return lines


def runs_csv(out) -> str:
    """Every run of every saved experiment as CSV (``freqsens report OUT --csv``): one row per run with the
    experiment's name and each scalar the experiment recorded (the varied value, seed, accuracies, the learning
    gate, every map statistic); columns sorted after ``experiment``, a missing value left empty."""
    import csv
    import io
    from nets.experiments import experiment_names
    rows = []
    for name in experiment_names():
        res = _experiment(out, name)
        for r in (res or {}).get("runs", []) if isinstance(res, dict) else []:
            rows.append({"experiment": name, **{k: v for k, v in r.items() if v is None or isinstance(v, (str, int, float))}})
    keys = ["experiment"] + sorted(set().union(*rows) - {"experiment"}) if rows else ["experiment"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, keys, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def verdict_table(out, figures: bool = True) -> list[str]:
    """The verdict table (Markdown lines): ``freqsens report DIR --summary`` prints it for the README."""
    from nets.experiments.summary import table
    return table(verdicts(out), figures)


def summary_lines(out) -> list[str]:
    """The report's first table: every experiment's verdicts from its saved result, with how to read it. The
    README's result tables are the same table (:func:`verdict_table`)."""
    from nets.experiments.trends import HEADLINE, gate_text
    rows = verdicts(out)
    if not rows:
        return []
    return ["## Summary: every verdict", "",
            f"How to read: a trend's headline is **{HEADLINE}**, the first radial moment of the sensitivity map "
            "without the DC term (eq. 5.1 over r > 0; a flat map gives ~11.8 at 32 x 32): smaller = sensitivity "
            "nearer low frequencies. *supported* = both 95% CIs of its slope (bootstrap over seeds; t-interval "
            "through every run) exclude 0 on the predicted side; *not supported* = on the other side; else "
            f"*inconclusive*. Only runs that passed the learning gate are used ({gate_text()}), on the last "
            "epoch's model, the one measured.", ""] + verdict_table(out)

