"""Hypothesis II (Section 5.2, Figs. 4, 5, 7): sensitivity follows tau more closely as weight decay grows,
for ConvActually (and MyrtleCNN from the standard preset on); the radial moments (eq. 5.1) should decrease
with the decay. ``weight_decay`` is torch's (twice eq. 4.1's lambda; ``nets.training.eq41_lambda``).

The decay must be able to act within the run: SGD with momentum 0.9 (appendix C.5) shrinks the weights by
exp(-decay_exposure) on its own, decay_exposure = weight_decay x lr x steps / (1 - momentum); every run's
exposure is in the report. The quick preset's values span exposures of 0.004 to 1.3 (measured)."""
from __future__ import annotations

from nets.experiments.depth import VARIANTS
from nets.experiments.registry import Experiment
from nets.experiments.sections import trend_section
from nets.experiments.sweep import analyse_runs, make_task, run_with_baselines, with_baselines
from nets.experiments.trends import trend_table

# SGD at lr 3e-4 (the decay's exposure is lr-bound; Adam rescales the L2 gradient and acted 3x less in the
# probes: depth 3, moment1_nodc 9.65 -> 8.42 over decay 1e-4..1 with Adam, 9.81 -> 5.70 over 1e-4..3 with SGD)
SGD = dict(optimizer="sgd", lr=3e-4, momentum=0.9)
PRESETS = {
    "tiny": dict(decay_depth=2, decays=[1e-4, 1e-2, 1e-1], variants=["natural"], convactually_train=SGD,
                 myrtle_decays=[1e-4], myrtle_train=dict(n_train=100, n_val=50, max_epochs=1)),
    "quick": dict(decay_depth=2, decays=[1e-2, 1e-1, 3e-1, 1.0, 3.0], variants=["natural", "standardised"],
                  convactually_train=SGD, myrtle_decays=[], myrtle_train=dict()),
    "standard": dict(decay_depth=3, decays=[1e-3, 1e-2, 1e-1, 3e-1, 1.0, 3.0], variants=["natural", "standardised"],
                     convactually_train=SGD, myrtle_decays=[1e-4, 1e-3, 1e-2, 1e-1, 1.0],
                     myrtle_train=dict(n_train=5000, n_val=500, n_test=1000, max_epochs=8)),
    # CIFAR: ConvActually depth 3 (the paper's depth 2: two conv layers; its depth 4, freqsens depth 5, learned
    # slowly with SGD and costs 2x per epoch), SGD lr 3e-4 as above: exposure ~1.3 x decay. MyrtleCNN width 16,
    # SGD lr 0.05, 12 epochs with x0.1 after epoch 8: at the model's lr 0.02 and the shared 8-epoch schedule its
    # training loss still fell 2-3.6 % per epoch at the final rate (the gate excluded 13 of 15 runs), so it
    # trains longer and faster here; exposure ~330 x decay, so the decays sit one decade lower than above
    "cifar": dict(decay_depth=3, decays=[1e-2, 1e-1, 3e-1, 1.0, 3.0], variants=["natural"], convactually_train=SGD,
                  myrtle_decays=[1e-5, 1e-4, 1e-3, 3e-3, 1e-2],
                  myrtle_train=dict(lr=0.05, max_epochs=12, lr_drops=[8])),
    "cifar-quick": dict(skip="hypothesis II is in the cifar preset (cifar-quick decides hypothesis I and its "
                             "whitened control)"),
    # cifar-myrtle (issue 33): MyrtleCNN alone, width 16, all 45,000 images (sweep.CIFAR_CNN), SGD lr 0.05 as in
    # cifar. Chosen on the first cifar-myrtle run (12 epochs, decays 1e-4, 1e-3, 1e-2, 3e-2; code e348ba317425),
    # before the runs this grid decides: 3e-2 reached validation accuracy 0.48-0.50 (floor 0.60; still 0.43-0.48
    # after the first x0.1), so at this rate it does not train and is replaced by 3e-3 (4 decays over two decades,
    # 1e-2 kept); at 1e-2 the tracked epochs straddled the x0.1 after epoch 11 and two seeds' maps still moved
    # 0.086 and 0.099 per epoch, so 14 epochs (x0.1 after 8 and 11) leave the 3 tracked epochs all at the final
    # rate. Exposure ~2,100 x decay over the 14 epochs.
    "cifar-myrtle": dict(decay_depth=3, decays=[], variants=[], convactually_train=SGD,
                         myrtle_decays=[1e-4, 1e-3, 3e-3, 1e-2], myrtle_train=dict(lr=0.05, max_epochs=14)),
    "paper": dict(decay_depth=4, decays=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1], variants=["natural"], convactually_train=dict(),
                  myrtle_decays=[1e-5, 1e-4, 1e-3, 2e-3, 1e-2], myrtle_train=dict()),
}


def tasks(ctx, p):
    t = [make_task(ctx, {"experiment": "decay", "model": "convactually", "data": v, "weight_decay": wd}, "convactually",
                   s, p["convactually_train"], depth=p["decay_depth"], weight_decay=wd, filter=VARIANTS[v])
         for v in p["variants"] for wd in p["decays"] for s in range(ctx.seeds)]
    return t + [make_task(ctx, {"experiment": "decay", "model": "myrtle", "data": "natural", "weight_decay": wd}, "myrtle",
                          s, p["myrtle_train"], weight_decay=wd) for wd in p["myrtle_decays"] for s in range(ctx.seeds)]


def run(ctx, p, pool) -> dict:
    rows, base = run_with_baselines(pool, "decay", tasks(ctx, p))
    ok, res = analyse_runs(rows, base)
    for r in ok:
        r["group"] = f"{r['model']} / {r['data']}"
    res["hypothesis_II"] = trend_table(ok, "weight_decay", "group", log_x=True)
    return res


def section(out, result) -> list[str]:
    return trend_section(out, result, "decay", "weight_decay", "hypothesis_II",
                         "Hypothesis II: weight decay (Figs. 4, 5, 7)", group="data")


def summary_rows(result) -> list:
    from nets.experiments.summary import Verdict, trend_verdicts
    out = []
    for group in result.get("hypothesis_II", {}):
        model, _, data = group.partition(" / ")
        v = trend_verdicts({**result, "hypothesis_II": {group: result["hypothesis_II"][group]}}, "hypothesis_II",
                           "Hypothesis II: sensitivity moves to low frequencies as weight decay grows ({group})",
                           "group", "decay", f"figures/decay_{model}_{data}.png")
        exposure = [r.get("decay_exposure") for r in result["runs"] if r.get("group") == group and "decay_exposure" in r]
        out += [Verdict(x.claim, x.verdict, x.effect + (f"; decay exposure {min(exposure):.2g}-{max(exposure):.2g}"
                                                         if exposure else ""), x.cis, x.runs, x.accuracy, x.figure)
                for x in v]
    return out


EXPERIMENT = Experiment("decay", "Hypothesis II: weight decay", PRESETS, run, section, verdicts=summary_rows,
                        training=lambda ctx, p: with_baselines(tasks(ctx, p)))
