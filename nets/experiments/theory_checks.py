"""The theory layer's own evidence in the report: the identity checks of ``theory.check`` (with the
paper's misprints as expected failures) and a short search for counterexamples to Conjecture 4.13."""
from __future__ import annotations

import json

from infra.tables import markdown_table
from nets.experiments.registry import Experiment

PRESETS = {p: dict(check_instances=10, conjecture_samples=4000) for p in ("tiny", "quick", "standard", "cifar", "cifar-quick", "paper")}


def run(ctx, p, pool) -> dict:
    """Check table and conjecture search; the search is resumed only up to its sample budget, so a re-run
    of finished work adds no samples and reproduces the same section."""
    from dataclasses import asdict
    from theory.check import run_checks
    from theory.conjecture_search import SearchConfig, search
    cdir = ctx.out / "conjecture"
    state_file = cdir / "search.json"
    have = json.loads(state_file.read_text())["samples"] if state_file.exists() else 0
    if have < p["conjecture_samples"]:
        search(SearchConfig(chunk=128, adversarial_steps=50), cdir, samples=p["conjecture_samples"] - have,
               resume=cdir.exists(), progress=False)
    cs = json.loads(state_file.read_text())
    summary = cs["summary"]
    return {"checks": [asdict(r) for r in run_checks(instances=p["check_instances"])],
            "conjecture": {"samples": cs["samples"], "configurations": len(summary),
                           "worst_ratio": min(v["worst_ratio"] for v in summary.values()),
                           "link_failures": sum(v["link_failures"] for v in summary.values()),
                           "bug_flags": sum(v.get("bug_flags", 0) for v in summary.values()),
                           "counterexamples": len(cs["counterexamples"])}}


def section(out, result) -> list[str]:
    lines = ["## Theory checks (freqsens check)", ""]
    lines += markdown_table(("identity", "eq.", "worst error", "verdict"),
                        [(r["identity"], r["equation"], f"{r['worst_error']:.2e}", r["verdict"]) for r in result["checks"]])
    c = result["conjecture"]
    lines += ["", "## Conjecture 4.13 search", "",
          f"{c['samples']} samples over {c['configurations']} configurations; worst ratio {c['worst_ratio']:.12f}; float64 "
          f"certificate link failures {c['link_failures']}; samples below 1 with every link holding {c['bug_flags']}; "
          f"counterexamples after the 60-digit recheck: {c['counterexamples']}.", ""]
    return lines


EXPERIMENT = Experiment("theory", "Theory checks and Conjecture 4.13 search", PRESETS, run, section)
