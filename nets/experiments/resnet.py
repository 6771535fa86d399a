"""Residual networks (paper Fig. 6, the counterexample): does weight decay concentrate a ResNet's
sensitivity the way it does for ConvActually?"""
from __future__ import annotations

from nets.experiments.registry import Experiment
from nets.experiments.sections import trend_section
from nets.experiments.sweep import analyse_runs, make_task
from nets.experiments.trends import trend_table

PRESETS = {
    "tiny": dict(resnets=["resnet20"], resnet_decays=[1e-4], resnet_train=dict(n_train=100, n_val=50, max_epochs=1)),
    "quick": dict(resnets=["resnet20"], resnet_decays=[1e-4, 1e-2],
                  resnet_train=dict(n_train=1500, n_val=300, n_test=500, max_epochs=3)),
    "paper": dict(resnets=["resnet20", "resnet56", "resnet9"], resnet_decays=[1e-5, 1e-4, 1e-3, 1e-2], resnet_train=dict()),
}


def tasks(ctx, p):
    return [make_task(ctx, {"experiment": "resnet", "model": m, "weight_decay": wd}, m, s, p["resnet_train"],
                      weight_decay=wd, depth=None)
            for m in p["resnets"] for wd in p["resnet_decays"] for s in range(ctx.seeds)]


def run(ctx, p, runner) -> dict:
    ok, res = analyse_runs(runner.run_tasks("resnet", tasks(ctx, p)))
    res["residual"] = trend_table(ok, "weight_decay", "model", log_x=True)
    return res


def section(out, result) -> list[str]:
    return trend_section(out, result, "resnet", "weight_decay", "residual", "Residual networks (Fig. 6)")


EXPERIMENT = Experiment("resnet", "Residual networks", PRESETS, run, section)
