"""Report pieces shared by the trend experiments (depth, decay, resnet): the sweep figure, the verdict
table and the per-run table. Built from saved results only."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from infra.io import atomic_save_figure
from infra.tables import fmt, markdown_table


def sweep_figure(rows, var: str, title: str, path: Path) -> None:
    """Sensitivity images (seed 0), post-processed radial curves and moments vs the varied parameter."""
    from nets.measures import postprocess, radial_curve
    from nets.plots import spectrum_image, use_agg
    plt = use_agg()
    ok = [r for r in rows if "error" not in r]
    xs = sorted({r[var] for r in ok})
    fig, axes = plt.subplots(2, max(len(xs), 2), figsize=(2.6 * max(len(xs), 2), 5.6))
    for i, x in enumerate(xs):
        r0 = next(r for r in ok if r[var] == x)
        S = np.load(Path(r0["run"]) / "sensitivity.npz", allow_pickle=False)["mean"]
        axes[0, i].imshow(spectrum_image(S), origin="lower")
        axes[0, i].set(title=f"{var} = {x:g}", xticks=[], yticks=[])
        rr, g = radial_curve(S)
        axes[1, 0].plot(rr, postprocess(rr, g), label=f"{var}={x:g}")
    axes[1, 0].set(xlabel="r", ylabel="log normalised sensitivity", title="radial (smoothed)")
    axes[1, 0].legend(fontsize=7)
    ax = axes[1, 1]
    for m in ("moment1", "moment2"):
        means = [np.mean([r[m] for r in ok if r[var] == x]) for x in xs]
        sds = [np.std([r[m] for r in ok if r[var] == x]) for x in xs]
        ax.errorbar(xs, means, yerr=sds, marker="o", label=m)
    ax.set(xscale="log" if var == "weight_decay" else "linear", xlabel=var, title="moments (eq. 5.1), mean +- sd")
    ax.legend(fontsize=7)
    for ax in axes[1, 2:]:
        ax.axis("off")
    fig.suptitle(title)
    atomic_save_figure(fig, path, dpi=90)


def trend_lines(name: str, table: dict) -> list[str]:
    rows = [(group, stat, t["spearman"], f"[{fmt(t['ci'][0])}, {fmt(t['ci'][1])}]", f"**{t['verdict']}**")
            for group, entry in table.items() for stat, t in entry.items()]
    return markdown_table((name, "statistic", "Spearman rho", "95% bootstrap CI", "verdict"), rows)


def runs_table(rows, var: str) -> list[str]:
    header = ("model", var, "seed", "test acc", "moment 1", "moment 2", "Spearman(S, tau)", "KL(radial S, tau)")
    lines = []
    for r in sorted(rows, key=lambda r: (str(r.get("model")), str(r.get(var)), r.get("seed", 0))):
        if "error" in r:
            lines.append((r.get("model"), r.get(var), r.get("seed"), f"FAILED: {r['error'].splitlines()[0]}", "", "", "", ""))
        else:
            lines.append((r.get("model"), r.get(var), r["seed"], r["test_acc"], r["moment1"], r["moment2"],
                          r.get("spearman_tau"), r.get("radial_kl_to_tau")))
    return markdown_table(header, lines)


def trend_section(out: Path, result: dict, name: str, var: str, key: str, title: str) -> list[str]:
    """Figure per model, verdict table (``result[key]``), run table, failures: the section of a trend experiment."""
    lines = [f"## {title}", ""]
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    for model in sorted({r.get("model") for r in result["runs"]}):
        rows = [r for r in result["runs"] if r.get("model") == model]
        f = figs / f"{name}_{model}.png"
        try:
            sweep_figure(rows, var, f"{title}: {model}", f)
            lines += [f"![]({f.relative_to(out)})", ""]
        except (OSError, KeyError, ValueError, StopIteration) as exc:
            lines += [f"(figure failed: {exc})", ""]
    lines += ["Moments should *decrease* and Spearman(S, tau) *increase* along the varied parameter if the "
          "hypothesis holds. Verdicts: supported / not supported when the 95% CI excludes 0, else inconclusive "
          "(also when fewer than 4 values or 2 seeds were measured).", ""]
    lines += trend_lines(name, result[key]) + [""] + runs_table(result["runs"], var) + [""]
    if result["failed"]:
        lines += [f"**{len(result['failed'])} task(s) failed** (after one retry); see the table.", ""]
    return lines
