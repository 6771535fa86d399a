"""Spectral swap (beyond the paper): the same ConvActually trained on filtered and synthetic data. If
sensitivity follows tau *wherever the variance sits*, Spearman(S, tau) stays positive for every variant,
including inverted spectra where the variance is at high frequencies."""
from __future__ import annotations

import numpy as np

from infra.tables import fmt, markdown_table
from nets.experiments.registry import Experiment
from nets.experiments.sweep import analyse_runs, make_task, with_baselines
from nets.results import Results

PRESETS = {
    "tiny": dict(spectra_depth=2, filters=["highpass:0.5", "invert"], alphas=[1.0]),
    "quick": dict(spectra_depth=2, filters=["highpass:0.5", "whiten", "invert"], alphas=[1.0, 2.0, 3.0],
                  variant_train={"highpass:0.5": dict(lr=1e-3), "invert": dict(lr=3e-4)}),
    "standard": dict(spectra_depth=3, filters=["highpass:0.5", "whiten", "invert", "standardise"], alphas=[1.0, 2.0, 3.0],
                     variant_train={"highpass:0.5": dict(lr=1e-3), "invert": dict(lr=3e-4)}),
    # CIFAR: the paper's high-pass (ratio 0.5) both as freqsens's exact filter and as the released code's
    # (gain 0.5 on the boundary ring), low-pass, whitened, inverted; depth 3 as the depth sweep, so the natural
    # and whitened runs are the depth sweep's (same configuration, same folder)
    "cifar": dict(spectra_depth=3, filters=["highpass:0.5", "highpass_released:0.5", "lowpass:0.5", "whiten",
                                             "invert"], alphas=[]),
    "cifar-quick": dict(skip="the spectral swap is in the cifar preset"),
    "paper": dict(spectra_depth=4, filters=["highpass:0.5", "whiten", "invert"], alphas=[1.0, 2.0, 3.0]),
}
RULE = ("Spearman(S, tau) over the frequencies the data keeps (tau > 1e-6 x its maximum: a filter's removed band "
        "carries no order), per seed that passed the learning gate, minus the untrained twin's: supported if the "
        "95% t-interval of the mean difference lies above 0 (training made the map follow tau more than "
        "initialisation alone), not supported if below 0, else inconclusive; fewer than 2 such seeds: inconclusive "
        "(not measured); tau flat (coefficient of variation < 0.1 over the kept frequencies, e.g. whitened data): "
        "not applicable (there is no order to follow)")
FLAT_CV = 0.1        # whitened data: CV ~0.02-0.05 (sampling noise); natural CIFAR-10 tau: CV >> 1
KEPT = 1e-6          # relative tau below which a frequency is a filter's removed band


# Per-variant learning rates (Adam, depth 2, 10 epochs): at the model's lr 1e-4 the high-pass and inverted
# variants stayed at 0.20-0.27 and 0.18-0.20 test accuracy (failing the learning gate); probes on one seed
# gave 0.41 (high-pass, lr 1e-3) and 0.25 (inverted, lr 3e-4; 0.20 at 1e-3)
def tasks(ctx, p):
    d, wd = p["spectra_depth"], ctx.scale["base_decay"]
    extra = p.get("variant_train", {})
    t = [make_task(ctx, {"experiment": "spectra", "data": f or "natural"}, "convactually", s, extra.get(f), depth=d,
                   weight_decay=wd, filter=f) for f in [None] + p["filters"] for s in range(ctx.seeds)]
    C, H, W = ctx.shape
    n = ctx.scale["train"].get("n_train", 10000)
    for a in p["alphas"]:
        ds = f"synthetic:grf?alpha={a}&n_train={n}&n_val={max(n // 5, 50)}&n_test={max(n // 5, 50)}&C={C}&H={H}&W={W}"
        t += [make_task(ctx, {"experiment": "spectra", "data": f"grf alpha={a}"}, "convactually", s, depth=d,
                        weight_decay=wd, dataset=ds) for s in range(ctx.seeds)]
    return t


def kept_spearman(run: str) -> tuple[float, float]:
    """``(Spearman(S, tau) over the kept frequencies, tau's coefficient of variation there)`` of a finished run:
    the frequencies where tau exceeds :data:`KEPT` x its maximum (a high-pass filter's zeroed block excluded)."""
    from scipy.stats import spearmanr

    from nets.experiments.sweep import tau_for_run
    from nets.runs import Run
    S, tau = Run(run).map(), tau_for_run(run)
    keep = tau > KEPT * tau.max()
    t, m = tau[keep], S[keep]
    rho = float(spearmanr(m, t).statistic) if np.ptp(m) > 0 and np.ptp(t) > 0 else 0.0
    return rho, float(t.std() / t.mean())


def verdicts(rows: list[dict], variants: list[str], untrained: list[dict] | None = None) -> dict:
    """Per data variant, by :data:`RULE`: the gated seeds' ``spearman_kept`` minus the untrained twin's, its mean
    and 95% t-interval, and the verdict ("not applicable" where tau is flat)."""
    from scipy.stats import t as student_t
    out = {}
    for data in variants:
        gated = [r for r in rows if r["data"] == data and r.get("learned", True)]
        twin = [u["spearman_kept"] for u in (untrained or []) if u.get("data") == data and "spearman_kept" in u]
        base = twin[0] if twin else 0.0
        v = np.array([r["spearman_kept"] for r in gated]) - base
        cv = [r["tau_cv"] for r in rows if r["data"] == data and "tau_cv" in r]
        entry = {"spearman_mean": float(np.mean([r["spearman_kept"] for r in gated])) if gated else float("nan"),
                 "twin": base if twin else None, "difference": float(v.mean()) if len(v) else float("nan"),
                 "seeds": len(v), "tau_cv": cv[0] if cv else None}
        if cv and cv[0] < FLAT_CV:
            out[data] = {**entry, "ci": [float("nan")] * 2, "verdict": "not applicable",
                         "reason": f"tau is flat (coefficient of variation {cv[0]:.3f} < {FLAT_CV:g}): no order to follow"}
            continue
        if len(v) < 2:
            out[data] = {**entry, "ci": [float("nan")] * 2, "verdict": "inconclusive",
                         "reason": f"{len(v)} seed(s) passed the learning gate; need >= 2"}
            continue
        half = float(student_t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
        lo, hi = float(v.mean() - half), float(v.mean() + half)
        verdict = "supported" if lo > 0 else "not supported" if hi < 0 else "inconclusive"
        out[data] = {**entry, "ci": [lo, hi], "verdict": verdict,
                     "reason": {"supported": "above the twin (CI above 0)", "not supported": "below the twin (CI below 0)"}
                     .get(verdict, "CI includes 0")}
    return out


def run(ctx, p, pool) -> dict:
    from nets.experiments.sweep import run_with_baselines
    rows, base = run_with_baselines(pool, "spectra", tasks(ctx, p))
    ok, res = analyse_runs(rows, base)
    for r in ok + [u for u in base if "error" not in u]:
        r["spearman_kept"], r["tau_cv"] = kept_spearman(r["run"])
    res["follows_tau"] = verdicts(ok, list(dict.fromkeys(r["data"] for r in rows)), base)
    return res


def figure(result: dict, path) -> None:
    """Per data variant: Spearman(S, tau) of every seed (filled: passed the learning gate) with the mean and
    its 95% t-interval, the untrained twin's value, and test accuracy against chance and the gate."""
    from nets.plots import save, use_agg
    plt = use_agg()
    rows = [r for r in result["runs"] if "error" not in r]
    variants = list(dict.fromkeys(r["data"] for r in rows))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, v in enumerate(variants):
        for r in (r for r in rows if r["data"] == v):
            a1.plot(i, r.get("spearman_kept", r["spearman_tau"]), "o", color="C0", mfc="C0" if r.get("learned") else "none")
            a2.plot(i, r["test_acc"], "o", color="C2", mfc="C2" if r.get("learned") else "none")
        ft = result.get("follows_tau", {}).get(v, {})
        if ft.get("seeds", 0) >= 2 and np.isfinite(ft["ci"]).all():   # the mean with its CI (twin + difference)
            t0 = ft.get("twin") or 0.0
            m, lo, hi = t0 + ft["difference"], t0 + ft["ci"][0], t0 + ft["ci"][1]
            a1.errorbar(i + 0.15, m, yerr=[[m - lo], [hi - m]], fmt="s", color="k", capsize=3)
        base = [u.get("spearman_kept", u["spearman_tau"]) for u in result.get("untrained", [])
                if u.get("data") == v and "error" not in u]
        if base:
            a1.plot(i, base[0], "x", color="grey")
        chance = [r.get("chance") for r in rows if r["data"] == v and r.get("chance") is not None]
        if chance:
            a2.plot([i - 0.3, i + 0.3], [np.mean(chance)] * 2, ":", color="grey")
            a2.plot([i - 0.3, i + 0.3], [2 * np.mean(chance)] * 2, "--", color="grey")
        floor = [r["floor"] for r in rows if r["data"] == v and r.get("floor") is not None]
        if floor:
            a2.plot([i - 0.3, i + 0.3], [floor[0]] * 2, "-.", color="C3")
    for ax in (a1, a2):
        ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right", fontsize=8)
    a1.axhline(0, color="grey", lw=0.5)
    a1.set(ylabel="Spearman(S, tau), kept frequencies")
    a1.set_title("seeds (open: excluded), mean and 95% CI (square),\nuntrained twin (x)", fontsize=9)
    a2.set(ylabel="test accuracy", ylim=(0, 1))
    a2.set_title("accuracy; dotted: chance, dashed: 2 x chance,\ndash-dot: the family's floor", fontsize=9)
    save(fig, path)


def section(out, result) -> list[str]:
    lines = ["## Spectral swap (beyond the paper)", "",
         "Same ConvActually trained on filtered / synthetic data. If sensitivity follows tau *wherever the variance "
         "sits*, Spearman(S, tau) stays positive and the radial KL to tau stays small for every data variant, "
         "including inverted spectra where the variance is at high frequencies.", ""]
    f = Results(out).figure("spectra.png")
    try:
        figure(result, f)
        lines += [f"![]({f.relative_to(out)})", ""]
    except (OSError, KeyError, ValueError) as exc:
        lines += [f"(figure failed: {exc})", ""]
    rows = [(r["data"], r["seed"], "FAILED", *[""] * 8) if "error" in r else
            (r["data"], r["seed"], r["test_acc"], r.get("chance"), "yes" if r.get("learned") else f"no: {r.get('gate')}",
             r["moment1_nodc"], r.get("moment1_nodc_tau"), r["midband_slope"], r.get("midband_slope_tau"),
             r["spearman_tau"], r["radial_kl_to_tau"]) for r in result["runs"]]
    lines += markdown_table(("data", "seed", "test acc", "chance", "learned", "moment 1 (no DC)", "of tau",
                             "mid-band slope", "of tau", "Spearman(S, tau)", "KL"), rows)
    base = [(r["data"], r["spearman_tau"], r["moment1_nodc"], r["midband_slope"]) for r in result.get("untrained", [])
            if "error" not in r]
    if base:
        lines += ["", "Untrained twins (initial weights, seed 0): how much of the agreement initialisation alone gives.", ""]
        lines += markdown_table(("data", "Spearman(S, tau)", "moment 1 (no DC)", "mid-band slope"), base)
    lines += ["", f"Does sensitivity follow tau? Rule: {RULE}.", ""]
    lines += markdown_table(("data", "mean Spearman (kept frequencies)", "untrained twin", "difference",
                             "95% t-interval", "seeds (learned)", "verdict", "why"),
                            [(k, v["spearman_mean"], v.get("twin"), v.get("difference"),
                              f"[{fmt(v['ci'][0])}, {fmt(v['ci'][1])}]", v["seeds"], f"**{v['verdict']}**",
                              v.get("reason", "")) for k, v in result.get("follows_tau", {}).items()])
    return lines + [""]


def summary_rows(result) -> list:
    from infra.tables import fmt
    from nets.experiments.summary import Verdict, accuracy_range, ci
    out = []
    for data, v in result.get("follows_tau", {}).items():
        rows = [r for r in result["runs"] if r.get("data") == data]
        used = [r for r in rows if "error" not in r and r.get("learned")]
        twin = v.get("twin")
        out.append(Verdict(f"Spectral swap: sensitivity follows tau on {data} data (Spearman(S, tau) over the kept "
                           "frequencies, above the untrained twin's)",
                           v["verdict"], f"mean Spearman {fmt(v['spearman_mean'])} vs twin "
                           f"{fmt(twin) if twin is not None else 'n/a'}; difference {fmt(v.get('difference'))}"
                           + (f"; tau CV {fmt(v['tau_cv'])}" if v.get("tau_cv") is not None else ""),
                           "n/a (not applicable)" if v["verdict"] == "not applicable" else f"t {ci(v['ci'])}",
                           f"{len(used)} / {len(rows) - len(used)}", accuracy_range(used), "figures/spectra.png"))
    return out


EXPERIMENT = Experiment("spectra", "Spectral swap", PRESETS, run, section, verdicts=summary_rows,
                        training=lambda ctx, p: with_baselines(tasks(ctx, p)))
