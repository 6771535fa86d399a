"""Hypothesis I (Section 5.1, Figs. 2-3): ConvActually's sensitivity concentrates where tau is large, more
so with depth; the radial moments (eq. 5.1) should decrease with depth.

Run on the dataset as given ("natural") and on its per-image standardised variant (``standardise`` filter:
no DC term, unit contrast), whose labels mean colour cannot decide: if the trend survives there, the
paper's mechanism, not colour, is at work. freqsens's depth counts every layer including the linear
read-out (depth 1 = a linear classifier); the paper's "depth d" ConvActually has d conv layers, i.e.
freqsens depth d + 1 (its depth 1 reached ~57 % on CIFAR-10, more than a linear classifier)."""
from __future__ import annotations

from nets.experiments.registry import Experiment
from nets.experiments.sections import trend_section
from nets.experiments.sweep import analyse_runs, make_task, run_with_baselines
from nets.experiments.trends import trend_table

VARIANTS = {"natural": None, "standardised": "standardise"}
PRESETS = {"tiny": dict(depths=[1, 2, 3], variants=["natural"]),
           "quick": dict(depths=[1, 2, 3, 4, 5], variants=["natural", "standardised"]),
           "standard": dict(depths=[1, 2, 3, 4, 5, 6], variants=["natural", "standardised"]),
           "paper": dict(depths=list(range(1, 10)), variants=["natural", "standardised"])}


def tasks(ctx, p):
    return [make_task(ctx, {"experiment": "depth", "model": "convactually", "data": v, "depth": d}, "convactually", s,
                      depth=d, weight_decay=ctx.scale["base_decay"], filter=VARIANTS[v])
            for v in p["variants"] for d in p["depths"] for s in range(ctx.seeds)]


def run(ctx, p, runner) -> dict:
    rows, base = run_with_baselines(runner, "depth", tasks(ctx, p))
    ok, res = analyse_runs(rows, base)
    res["hypothesis_I"] = trend_table(ok, "depth", "data")
    return res


def section(out, result) -> list[str]:
    return trend_section(out, result, "depth", "depth", "hypothesis_I", "Hypothesis I: depth (ConvActually; Figs. 2-3)",
                         group="data")


EXPERIMENT = Experiment("depth", "Hypothesis I: depth", PRESETS, run, section)
