"""Report pieces shared by the trend experiments (depth, decay, resnet): the sweep figure, the verdict
table and the per-run table. Built from saved results only."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from infra.io import atomic_save_figure
from infra.tables import fmt, markdown_table
from nets.results import Results
from nets.runs import Run


LABELS = {"weight_decay": "weight decay", "depth": "depth"}


def sweep_figure(rows, var: str, title: str, path: Path) -> None:
    """Row 1: log10 sensitivity (channel mean, DC at the centre, seed 0) per value of ``var`` on one shared colour
    scale set by the non-DC frequencies (DC is clipped to it, so one pixel does not set the scale), with a colour
    bar and frequency axes; maps of runs the learning gate excluded say so in their title. Row 2: the radial
    curves with the paper's post-processing (Fig. 3a: divided by their integral, averaged with 3 neighbours on
    either side) on log-log axes, the DC-free first moment and eq. 5.1's first moment (every seed a point, open:
    excluded; mean +- sd), and test accuracy against chance and the gate."""
    from nets.measures import postprocess, radial_curve
    from nets.plots import fft_extent, use_agg
    plt = use_agg()
    ok = [r for r in rows if "error" not in r]
    xs = sorted({r[var] for r in ok})
    label = LABELS.get(var, var)
    seed0 = {x: min((r for r in ok if r[var] == x), key=lambda r: r.get("seed", 0)) for x in xs}
    maps = {x: Run(r["run"]).map() for x, r in seed0.items()}
    logs = {x: np.log10(np.fft.fftshift(S.mean(0)) + 1e-30) for x, S in maps.items()}
    H, W = next(iter(maps.values())).shape[-2:]
    off_dc = np.ones((H, W), bool)
    off_dc[H // 2, W // 2] = False          # DC after fftshift
    lo = min(float(v[off_dc].min()) for v in logs.values())
    hi = max(float(v[off_dc].max()) for v in logs.values())
    ncol = max(len(xs), 4)
    fig, axes = plt.subplots(2, ncol, figsize=(3.0 * ncol, 6.6), squeeze=False)
    ext = fft_extent(H, W)
    im = None
    for i, x in enumerate(xs):
        ax = axes[0, i]
        im = ax.imshow(np.clip(logs[x], lo, hi), origin="lower", vmin=lo, vmax=hi, extent=ext, cmap="viridis")
        gated = seed0[x].get("learned", True)
        ax.set_title(f"{label} {x:g}" + ("" if gated else "\n(excluded by the gate)"), fontsize=9,
                     color="k" if gated else "C3")
        ax.set_xlabel("k_j", fontsize=8)
        ax.tick_params(labelsize=8)
        if i == 0:
            ax.set_ylabel("k_i", fontsize=8)
    for ax in axes[0, len(xs):]:
        ax.axis("off")
    if im is not None:
        cb = fig.colorbar(im, ax=list(axes[0, :len(xs)]), shrink=0.8)
        cb.set_label("log10 sensitivity, seed 0 (DC clipped)", fontsize=8)
        cb.ax.tick_params(labelsize=8)
    ax = axes[1, 0]
    for x, S in maps.items():
        rr, g = radial_curve(S)
        keep = rr > 0
        ax.plot(rr[keep], np.exp(postprocess(rr, g))[keep], label=f"{x:g}")
    ax.set(xscale="log", yscale="log")
    ax.set_xlabel("r = |k| (log)", fontsize=8)
    ax.set_ylabel("sensitivity / its integral (log)", fontsize=8)
    ax.set_title("radial, smoothed (Fig. 3a)", fontsize=9)
    ax.legend(fontsize=8, title=label, title_fontsize=8)
    logx = var == "weight_decay"
    for ax, stat, name in ((axes[1, 1], "moment1_nodc", "moment 1 without DC"), (axes[1, 2], "moment1", "moment 1 (eq. 5.1)")):
        for r in ok:
            ax.plot(r[var], r[stat], "o", ms=4, color="C0", mfc="C0" if r.get("learned", True) else "none", alpha=0.7)
        means = [np.mean([r[stat] for r in ok if r[var] == x]) for x in xs]
        sds = [np.std([r[stat] for r in ok if r[var] == x]) for x in xs]
        ax.errorbar(xs, means, yerr=sds, color="k", capsize=3, lw=1)
        ax.set(xscale="log" if logx else "linear")
        ax.set_xlabel(label, fontsize=8)
        ax.set_title(name, fontsize=9)
    ax = axes[1, 3]
    # the gate's floor applies to validation accuracy: plot that (circles) where saved, test accuracy as crosses
    for r in ok:
        if r.get("val_acc") is not None:
            ax.plot(r[var], r["val_acc"], "o", ms=4, color="C2", mfc="C2" if r.get("learned", True) else "none")
        ax.plot(r[var], r["test_acc"], "x", ms=4, color="C1")
    chance = [r.get("chance") for r in ok if r.get("chance") is not None]
    if chance:
        ax.axhline(np.mean(chance), color="grey", ls=":", label="chance")
        ax.axhline(2 * np.mean(chance), color="grey", ls="--", label="2 x chance")
        floors = {r["floor"] for r in ok if r.get("floor") is not None}
        for f in floors:
            ax.axhline(f, color="C3", ls="-.", lw=0.8, label="family floor")
        ax.legend(fontsize=8)
    ax.set(xscale="log" if logx else "linear", ylim=(0, 1))
    ax.set_xlabel(label, fontsize=8)
    ax.set_ylabel("accuracy", fontsize=8)
    ax.set_title("validation (o; open: excluded), test (x)", fontsize=9)
    for ax in axes[1]:
        ax.tick_params(labelsize=8)
    for ax in axes[1, 4:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    atomic_save_figure(fig, path, dpi=90)


def trend_lines(name: str, table: dict) -> list[str]:
    """The verdict table: per group and statistic the slope with its two 95% CIs, Spearman with its CI,
    the verdict and why. The headline statistic comes first and is marked."""
    from nets.experiments.trends import HEADLINE, STATISTICS
    rows, robust = [], []
    for group, entry in table.items():
        if "robust" in entry:   # the headline's second checkpoint and ungated verdicts
            rb = entry["robust"]
            robust.append((group, f"**{rb['verdict']}**", entry[HEADLINE]["verdict"], rb["previous"]["verdict"],
                           f"{fmt(rb['previous'].get('slope'))} {_ci(rb['previous'].get('slope_t_ci'))}",
                           rb["ungated"]["verdict"], f"{fmt(rb['ungated'].get('slope'))} {_ci(rb['ungated'].get('slope_t_ci'))}",
                           ", ".join(fmt(x) for x in rb["removed_values"]) or "none"))
        for stat in sorted((s for s in entry if s in STATISTICS), key=list(STATISTICS).index):
            t = entry[stat]
            unit = "per log10 step" if t.get("x_scale") == "log10" else "per step"
            rows.append((group, f"**{stat}** (headline)" if stat == HEADLINE else stat, t.get("direction", ""),
                         f"{fmt(t.get('slope'))} {unit}", _ci(t.get("slope_ci")), _ci(t.get("slope_t_ci")),
                         f"{fmt(t['spearman'])} {_ci(t['ci'])}", t.get("seeds", ""), f"**{t['verdict']}**",
                         t.get("reason", "")))
    lines = markdown_table((name, "statistic", "predicted", "slope of seed means", "bootstrap 95% CI",
                            "t 95% CI (all points)", "Spearman rho [bootstrap CI]", "seeds", "verdict", "why"), rows)
    if robust:
        lines += ["", f"Is the {HEADLINE} verdict robust to the checkpoint and the gate? (claim verdict = the last "
                  "epoch's when the epoch before agrees, else *not settled*)", ""]
        lines += markdown_table((name, "claim verdict", "last epoch", "epoch before", "its slope [t CI]", "ungated",
                                 "its slope [t CI]", "values the gate removed entirely"), robust)
    return lines


def _ci(ci) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else ""


STAT_COLUMNS = ("moment1", "moment1_nodc", "moment2_nodc", "midband_slope", "spearman_tau")
PIXEL_COLUMNS = ("moment1_pixel", "moment1_nodc_pixel")   # per [0, 1] pixel unit (the paper's); unfiltered data


def runs_table(rows, var: str) -> list[str]:
    header = ("model", "data", var, "seed", "test acc", "chance", "learned", *STAT_COLUMNS, *PIXEL_COLUMNS,
              "decay exposure")
    lines = []
    for r in sorted(rows, key=lambda r: (str(r.get("model")), str(r.get("data")), str(r.get(var)), r.get("seed", 0))):
        if "error" in r:
            lines.append((r.get("model"), r.get("data"), r.get(var), r.get("seed"),
                          f"FAILED: {r['error'].splitlines()[0]}", *[""] * (len(header) - 5)))
        else:
            lines.append((r.get("model"), r.get("data"), r.get(var), r["seed"], r["test_acc"], r.get("chance"),
                          "yes" if r.get("learned") else f"no: {r.get('gate')}",
                          *[r.get(c) for c in STAT_COLUMNS], *[r.get(c, "") for c in PIXEL_COLUMNS],
                          r.get("decay_exposure")))
    return markdown_table(header, lines)


def baselines_table(result: dict, var: str) -> list[str]:
    """The same statistics for the untrained twins (initial weights) and for a flat map."""
    rows = [(f"untrained {r.get('model')} / {r.get('data')}", r.get(var), *[r.get(c) for c in STAT_COLUMNS])
            for r in result.get("untrained", []) if "error" not in r]
    if "flat" in result:
        rows.append(("flat map (every frequency equal)", "", *[result["flat"].get(c) for c in STAT_COLUMNS[:-1]], ""))
    return markdown_table(("baseline", var, *STAT_COLUMNS), rows) if rows else []


def trend_section(out: Path, result: dict, name: str, var: str, key: str, title: str, group: str = "model") -> list[str]:
    """Figure per model and data variant, verdict table (``result[key]``), baselines, run table, exclusions
    and failures: the section of a trend experiment."""
    from nets.experiments.trends import HEADLINE, gate_text
    lines = [f"## {title}", ""]
    figs = Results(out).figures()
    combos = sorted({(str(r.get("model")), str(r.get("data", ""))) for r in result["runs"]})
    for model, data in combos:
        rows = [r for r in result["runs"] if str(r.get("model")) == model and str(r.get("data", "")) == data]
        f = figs / f"{name}_{model}{'_' + data if data else ''}.png"
        try:
            sweep_figure(rows, var, f"{title}: {model} {data}", f)
            lines += [f"![]({f.relative_to(out)})", ""]
        except (OSError, KeyError, ValueError, StopIteration) as exc:
            lines += [f"(figure failed: {exc})", ""]
    lines += [f"Moments and the mid-band slope should *decrease* and Spearman(S, tau) *increase* along the varied "
              f"parameter if the hypothesis holds. Each statistic is judged on the slope of its seed means: "
              f"supported / not supported when both the bootstrap CI (seeds resampled) and the t-interval of the "
              f"least-squares slope through all runs exclude 0, else inconclusive. The headline is **{HEADLINE}** "
              f"(eq. 5.1 without r = 0): on the embedded data eq. 5.1's moment is dominated by the DC pixel, "
              f"which mean colour explains. Only runs that passed the learning gate enter ({gate_text()}). Maps are per normalised unit; `*_pixel` columns give the first moments per "
              f"[0, 1] pixel unit (channel c divided by its std_c, the paper's convention), for unfiltered data.", ""]
    lines += trend_lines(group, result[key]) + [""]
    base = baselines_table(result, var)
    if base:
        lines += ["Baselines: what initialisation alone, and a flat map, give the same statistics.", ""] + base + [""]
    lines += runs_table(result["runs"], var) + [""]
    if result.get("excluded"):
        lines += [f"**{len(result['excluded'])} run(s) excluded by the learning gate**: " + "; ".join(
            f"{r.get('model')} {r.get('data', '')} {var}={r.get(var)} seed {r.get('seed')}: {r.get('gate')}"
            for r in result["excluded"]), ""]
    if result["failed"]:
        lines += [f"**{len(result['failed'])} task(s) failed** (after one retry); see the table.", ""]
    return lines
