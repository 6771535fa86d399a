"""Hypothesis I (Section 5.1, Figs. 2-3): ConvActually's sensitivity concentrates where tau is large, more
so with depth; the radial moments (eq. 5.1) should decrease with depth."""
from __future__ import annotations

from nets.experiments.registry import Experiment
from nets.experiments.sections import trend_section
from nets.experiments.sweep import analyse_runs, make_task
from nets.experiments.trends import trend_table

PRESETS = {"tiny": dict(depths=[1, 2, 3]), "quick": dict(depths=[1, 2, 3, 4]), "paper": dict(depths=list(range(1, 10)))}


def tasks(ctx, p):
    return [make_task(ctx, {"experiment": "depth", "model": "convactually", "depth": d}, "convactually", s, depth=d,
                      weight_decay=ctx.scale["base_decay"]) for d in p["depths"] for s in range(ctx.seeds)]


def run(ctx, p, runner) -> dict:
    ok, res = analyse_runs(runner.run_tasks("depth", tasks(ctx, p)))
    res["hypothesis_I"] = trend_table(ok, "depth", "model")
    return res


def section(out, result) -> list[str]:
    return trend_section(out, result, "depth", "depth", "hypothesis_I", "Hypothesis I: depth (ConvActually; Figs. 2-3)")


EXPERIMENT = Experiment("depth", "Hypothesis I: depth", PRESETS, run, section)
