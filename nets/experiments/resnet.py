"""Residual networks (paper Fig. 6, the counterexample): does weight decay concentrate a ResNet's
sensitivity the way it does for ConvActually?"""
from __future__ import annotations

from nets.experiments.registry import Experiment
from nets.experiments.sections import trend_section
from nets.experiments.sweep import analyse_runs, make_task
from nets.experiments.trends import trend_table

PRESETS = {
    "tiny": dict(resnets=["resnet20"], resnet_decays=[1e-4], resnet_train=dict(n_train=100, n_val=50, max_epochs=1)),
    # ResNet-20 reached test accuracy 0.26-0.33 after 3 epochs on 1500 images (issue 12): it cannot pass the
    # learning gate in the quick budget, so the quick report says so instead of deciding on untrained models
    "quick": dict(skip="ResNets do not pass the learning gate in the quick budget (ResNet-20: test accuracy "
                       "0.26-0.33 after 3 epochs on 1500 images); run --preset standard."),
    "standard": dict(resnets=["resnet20"], resnet_decays=[1e-4, 1e-3, 1e-2, 3e-2, 1e-1],
                     resnet_train=dict(n_train=5000, n_val=500, n_test=1000, max_epochs=8)),
    "paper": dict(resnets=["resnet20", "resnet56", "resnet9"], resnet_decays=[1e-5, 1e-4, 1e-3, 1e-2], resnet_train=dict()),
}


def tasks(ctx, p):
    return [make_task(ctx, {"experiment": "resnet", "model": m, "weight_decay": wd}, m, s, p["resnet_train"],
                      weight_decay=wd, depth=None)
            for m in p["resnets"] for wd in p["resnet_decays"] for s in range(ctx.seeds)]


def run(ctx, p, runner) -> dict:
    from nets.experiments.sweep import run_with_baselines
    ok, res = analyse_runs(*run_with_baselines(runner, "resnet", tasks(ctx, p)))
    res["residual"] = trend_table(ok, "weight_decay", "model", log_x=True)
    return res


def section(out, result) -> list[str]:
    return trend_section(out, result, "resnet", "weight_decay", "residual", "Residual networks (Fig. 6)")


EXPERIMENT = Experiment("resnet", "Residual networks", PRESETS, run, section)
