"""Hypothesis II (Section 5.2, Figs. 4, 5, 7): sensitivity follows tau more closely as weight decay grows,
for ConvActually and MyrtleCNN; the radial moments (eq. 5.1) should decrease with the decay.
``weight_decay`` is torch's (twice eq. 4.1's lambda; ``nets.training.eq41_lambda``)."""
from __future__ import annotations

from nets.experiments.registry import Experiment
from nets.experiments.sections import trend_section
from nets.experiments.sweep import analyse_runs, make_task
from nets.experiments.trends import trend_table

PRESETS = {
    "tiny": dict(decay_depth=2, decays=[1e-4, 1e-2, 1e-1], myrtle_decays=[1e-4],
                 myrtle_train=dict(n_train=100, n_val=50, max_epochs=1)),
    "quick": dict(decay_depth=3, decays=[1e-4, 1e-2, 5e-2], myrtle_decays=[1e-4, 1e-2],
                  myrtle_train=dict(n_train=800, n_val=200, n_test=500, max_epochs=2)),
    "paper": dict(decay_depth=4, decays=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1], myrtle_decays=[1e-5, 1e-4, 1e-3, 2e-3, 1e-2],
                  myrtle_train=dict()),
}


def tasks(ctx, p):
    t = [make_task(ctx, {"experiment": "decay", "model": "convactually", "weight_decay": wd}, "convactually", s,
                   depth=p["decay_depth"], weight_decay=wd) for wd in p["decays"] for s in range(ctx.seeds)]
    return t + [make_task(ctx, {"experiment": "decay", "model": "myrtle", "weight_decay": wd}, "myrtle", s,
                          p["myrtle_train"], weight_decay=wd) for wd in p["myrtle_decays"] for s in range(ctx.seeds)]


def run(ctx, p, runner) -> dict:
    ok, res = analyse_runs(runner.run_tasks("decay", tasks(ctx, p)))
    res["hypothesis_II"] = trend_table(ok, "weight_decay", "model", log_x=True)
    return res


def section(out, result) -> list[str]:
    return trend_section(out, result, "decay", "weight_decay", "hypothesis_II",
                         "Hypothesis II: weight decay (Figs. 4, 5, 7)")


EXPERIMENT = Experiment("decay", "Hypothesis II: weight decay", PRESETS, run, section)
