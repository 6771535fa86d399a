"""Learned Fourier weights vs convex solutions (Theorem 4.9 with exact constants): a LinearCNN (the FFT
layers that train real networks) fitted tightly with weight decay, compared with the ridge (L = 1),
nuclear-norm (L = 2) and local Schatten-2/3 (L = 3) solutions by ``theory.equivalence.compare``."""
from __future__ import annotations

import numpy as np

from infra.io import atomic_save_npz
from infra.tables import markdown_table
from nets.experiments.registry import Experiment
from nets.results import Results

PRESETS = {
    "tiny": dict(linear_n=200, linear_size=4, linear_decays=[1e-2]),
    "quick": dict(linear_n=400, linear_size=6, linear_decays=[1e-2]),
    "cifar": dict(linear_n=400, linear_size=6, linear_decays=[1e-2]),
    "cifar-quick": dict(skip="the linear-CNN comparison is in the quick and cifar presets"),
    "standard": dict(linear_n=2000, linear_size=8, linear_decays=[1e-3, 1e-2]),
    "paper": dict(linear_n=5000, linear_size=16, linear_decays=[1e-3, 1e-2]),
}


def run(ctx, p, pool) -> dict:
    import sys

    from nets.data import load_dataset
    from nets.models.linear_cnn import fit_weights
    from nets.training import eq41_lambda
    from theory.dft import dft2
    from theory.equivalence import compare
    data = load_dataset(ctx.dataset, data_root=ctx.data_root)
    n, s = p["linear_n"], p["linear_size"]
    x = data.normalised("train")[:n, :, :s, :s].mean(axis=1, keepdims=True).astype(np.float64)  # grey s x s crops
    y = data.y_train[:n]
    K = int(y.max()) + 1
    rows = []
    for L in (1, 2, 3):
        for wd in p["linear_decays"]:
            print(f"[experiments] linear: L = {L}, weight decay {wd:g}", file=sys.stderr, flush=True)
            channels = (1,) + (4,) * (L - 1) + (K,)
            c = compare(x, y, channels, eq41_lambda(wd), "cross_entropy", seed=0, restarts=1, max_iter=2000,
                        fit=fit_weights, paper_form=False)
            # train accuracy of the fitted network: v_hat's predictor f(x) = sum conj(v_hat) x_hat (eq. 4.4)
            logits = np.einsum("kcij,ncij->nk", c.v_hat.conj(), dft2(x)).real
            # per-frequency block norms |v_hat_k|_F, learned and convex, for the report's figure
            atomic_save_npz(ctx.out / "linear" / f"L{L}-wd{wd:g}.npz",
                            learned=np.sqrt((np.abs(c.v_hat) ** 2).sum(axis=(0, 1))),
                            convex=np.sqrt((np.abs(c.v_hat_convex) ** 2).sum(axis=(0, 1))))
            rows.append({"depth": L, "weight_decay": wd, "lam_v": c.lam_v, "relative_error": c.v_hat_error,
                         "max_per_frequency_error": float(c.per_frequency_error.max()),
                         "objective_gap": c.v_objective_gap, "train_accuracy": float((logits.argmax(1) == y).mean()),
                         "solver": "global (convex)" if L <= 2 else "local (Schatten-2/3 from the trained point)"})
    return {"data": f"{n} grey {s}x{s} crops of {ctx.dataset}, 10 classes, cross-entropy", "rows": rows}


def figure(out, rows, path) -> bool:
    """Per depth: the per-frequency block norm |v_hat_k|_F of the trained network against the convex
    solution's (log-log, the diagonal is agreement), and the learned norms as an image (DC at the centre)."""
    from infra.io import atomic_save_figure
    from nets.plots import fft_extent, use_agg
    files = [(r, out / "linear" / f"L{r['depth']}-wd{r['weight_decay']:g}.npz") for r in rows]
    files = [(r, f) for r, f in files if f.exists()]
    if not files:
        return False
    plt = use_agg()
    fig, axes = plt.subplots(2, len(files), figsize=(3.4 * len(files), 6.4), squeeze=False)
    for i, (r, f) in enumerate(files):
        with np.load(f, allow_pickle=False) as z:
            learned, convex = z["learned"], z["convex"]
        ax = axes[0, i]
        floor = 1e-6 * max(learned.max(), convex.max())
        ax.loglog(np.maximum(convex.ravel(), floor), np.maximum(learned.ravel(), floor), ".", ms=3)
        lo, hi = floor, max(learned.max(), convex.max()) * 1.5
        ax.plot([lo, hi], [lo, hi], "k:", lw=0.8)
        ax.set(xlabel="convex |v*_k|", ylabel="trained |v_k|", title=f"L = {r['depth']}, decay {r['weight_decay']:g}: "
               f"rel. error {r['relative_error']:.2g}")
        ax.title.set_fontsize(8)
        H, W = learned.shape
        im = axes[1, i].imshow(np.fft.fftshift(np.log10(learned + floor)), origin="lower", cmap="viridis",
                               extent=fft_extent(H, W))
        fig.colorbar(im, ax=axes[1, i], shrink=0.8, label="log10 trained |v_k|")
        axes[1, i].set(xlabel="k_j", ylabel="k_i")
    fig.tight_layout()
    atomic_save_figure(fig, path, dpi=90)
    return True


def section(out, result) -> list[str]:
    lines = ["## Linear CNNs vs convex solutions (Theorem 4.9 with exact constants)", "", result["data"] + ".", ""]
    f = Results(out).figure("linear.png")
    try:
        if figure(out, result["rows"], f):
            lines += [f"![]({f.relative_to(out)})", ""]
    except (OSError, KeyError, ValueError) as exc:
        lines += [f"(figure failed: {exc})", ""]
    lines += markdown_table(("L", "weight decay", "lam_v", "rel. error of v_hat", "max per-frequency error",
                         "objective gap", "solver"),
                        [(r["depth"], f"{r['weight_decay']:g}", r["lam_v"], r["relative_error"],
                          r["max_per_frequency_error"], r["objective_gap"], r["solver"]) for r in result["rows"]])
    return lines + [""]


EXPERIMENT = Experiment("linear", "Linear CNNs vs convex solutions", PRESETS, run, section)
