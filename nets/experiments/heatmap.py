"""Fourier heat maps (Yin et al. 2019) as published, next to gradient sensitivity.

The depth experiment's seed-0 models on the natural data (the heat map's pixel-space convention needs
images in [0, 1]): perturb in pixel space with epsilon = 4 per channel and a random sign per image and
channel, clip to [0, 1], then normalise (``nets.measures.fourier_heat_map`` with ``normalise``). Images:
enough that every frequency's binomial standard error is <= 0.02 (N >= 625). Each map's split-half
reliability (Spearman between the maps of the two halves of the images) is reported; a map below 0.5 is
labelled noise and not correlated with anything."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from infra.io import atomic_write
from infra.tables import markdown_table
from nets.experiments.registry import Experiment
from nets.experiments.sweep import load_result
from nets.results import Results

_NO_HEAT = ("Fourier heat maps are not part of the paper's CIFAR claims and cost ~4 min of one core for two "
            "models, left out of the 2-hour budget")
PRESETS = {"tiny": dict(heat_images=20, heat_depths=None, epsilon=4.0),
           "cifar": dict(skip=_NO_HEAT), "cifar-quick": dict(skip=_NO_HEAT),
           "quick": dict(heat_images=640, heat_depths=[1, 5], epsilon=4.0),
           "standard": dict(heat_images=1000, heat_depths=None, epsilon=4.0),
           "paper": dict(heat_images=1000, heat_depths=None, epsilon=4.0)}
RELIABLE = 0.5


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr
    keep = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[keep], b[keep]).statistic) if np.ptp(a[keep]) > 0 and np.ptp(b[keep]) > 0 else float("nan")


def _pooled(first: np.ndarray, second: np.ndarray, n: int) -> np.ndarray:
    """The map over all ``n`` images from the means over its halves ``[:n // 2]`` and ``[n // 2:]``."""
    return (first * (n // 2) + second * (n - n // 2)) / n


def run(ctx, p, pool) -> dict:
    """Two tasks per model (the depth experiment's seed-0 natural runs), one per half of the images, spread
    over the pool's workers deepest model first, so both workers share the slowest model's map: a half's
    maps do not depend on which process computes them."""
    import sys
    depth = load_result(ctx.out, "depth")   # run paths resolved against the results folder
    rows = [r for r in depth["runs"] if "error" not in r and r.get("seed") == 0 and r.get("data", "natural") == "natural"
            and (p["heat_depths"] is None or r.get("depth") in p["heat_depths"])]
    print(f"[experiments] heatmap: {len(rows)} model(s) on {pool.workers} worker(s)", file=sys.stderr, flush=True)
    jobs = sorted(((i, k) for i in range(len(rows)) for k in (0, 1)), key=lambda j: -(rows[j[0]].get("depth") or 0))
    args = ([rows[i] for i, _ in jobs], [p] * len(jobs), [k for _, k in jobs])
    if pool.workers > 1 or pool.scheduler:
        from infra.parallel import Executor
        with Executor(pool.workers, pool.scheduler) as ex:
            done = ex.map(heat_half, *args, [True] * len(jobs))
    else:
        done = [heat_half(*a) for a in zip(*args)]
    halves = {job: h for job, h in zip(jobs, done)}
    return {"maps": [heat_maps(r, p, (halves[i, 0], halves[i, 1])) for i, r in enumerate(rows)]}


def heat_half(r: dict, p: dict, k: int, worker: bool = False) -> dict:
    """Half ``k`` (0: the first ``n // 2`` of the first ``n`` test images, 1: the rest; seed ``k``) of one
    trained run's heat map and first-order map: ``{"n", "heat", "first_order"}`` (``(H, W)`` arrays), or
    ``{"skipped": why}``. ``worker``: one torch thread (the process shares the machine with other workers)."""
    import torch

    from nets.measures import first_order_heat_map, fourier_heat_map
    from nets.measuring import load_trained
    if worker:
        from nets.runtime import configure
        configure(1)
    model, cfg, data = load_trained(r["run"])
    xt, yt = data.split("test")
    n = min(p["heat_images"], len(xt))
    pixels = xt[:n].astype(np.float32) / (255.0 if xt.dtype == np.uint8 else 1.0)
    if pixels.min() < 0 or pixels.max() > 1:
        return {"skipped": "images are not in [0, 1] pixels"}
    x, y = torch.from_numpy(pixels), torch.from_numpy(yt[:n].astype(np.int64))
    s, norm = (slice(0, n // 2), slice(n // 2, n))[k], (data.mean, data.std)   # two halves: reliability
    return {"n": n, "heat": fourier_heat_map(model, x[s], y[s], epsilon=p["epsilon"], normalise=norm, seed=k).mean,
            "first_order": first_order_heat_map(model, x[s], epsilon=p["epsilon"], normalise=norm, seed=k).mean}


def heat_maps(r: dict, p: dict, halves: tuple[dict, dict]) -> dict:
    """The heat map and first-order map of one trained run ``r`` (a depth-experiment row) from its two
    halves (:func:`heat_half`), with their split-half reliabilities; the pooled maps saved next to the run."""
    if "skipped" in halves[0]:
        return {"run": r["run"], "depth": r.get("depth"), "skipped": halves[0]["skipped"]}
    n = halves[0]["n"]
    hm = _pooled(halves[0]["heat"], halves[1]["heat"], n)
    se = float(np.nanmax(np.sqrt(hm * (1 - hm) / n)))
    atomic_write(Path(r["run"]) / "heatmap.npy", lambda f, m=hm: np.save(f, m))
    S = np.load(Path(r["run"]) / "sensitivity.npz", allow_pickle=False)["mean"].mean(0)
    reliability = _spearman(halves[0]["heat"].ravel(), halves[1]["heat"].ravel())
    fo = [h["first_order"] for h in halves]
    fo_map = _pooled(fo[0], fo[1], n)
    fo_rel = _spearman(fo[0].ravel(), fo[1].ravel())
    atomic_write(Path(r["run"]) / "first_order.npy", lambda f, m=fo_map: np.save(f, m))
    return {"run": r["run"], "depth": r.get("depth"), "test_acc": r.get("test_acc"), "n_images": n,
            "epsilon": p["epsilon"], "clean_error": 1 - r.get("test_acc", float("nan")),
            "mean_error": float(np.nanmean(hm)), "max_se": se, "split_half_spearman": reliability,
            "noise": bool(not reliability >= RELIABLE),
            "spearman_heatmap_vs_sensitivity": float("nan") if not reliability >= RELIABLE else
            _spearman(hm.ravel(), S.ravel()),
            "first_order_split_half_spearman": fo_rel,
            "spearman_first_order_vs_sensitivity": _spearman(fo_map.ravel(), S.ravel()),
            "spearman_first_order_vs_heatmap": float("nan") if not reliability >= RELIABLE else
            _spearman(fo_map.ravel(), hm.ravel())}


def figure(result: dict, path) -> None:
    """Per model: heat map, first-order map and gradient sensitivity (channel mean), DC at the centre, each
    with a colorbar and frequency axes (the heat map on the fixed error scale [0, 1], the log maps on the
    3 decades below their largest non-DC entry); epsilon and the clean error in the titles; maps whose split-half
    reliability is below 0.5 are stamped NOISE."""
    from nets.plots import fft_extent, save, use_agg
    plt = use_agg()
    maps = [m for m in result["maps"] if "skipped" not in m]
    fig, axes = plt.subplots(len(maps), 3, figsize=(11, 3.3 * len(maps)), squeeze=False)
    for row, m in zip(axes, maps):
        run = Path(m["run"])
        panels = [(np.load(run / "heatmap.npy"), f"heat map: error\n(eps {m['epsilon']:g}, clean {m['clean_error']:.2f}, "
                   f"split-half {m['split_half_spearman']:.2f})")]
        if (run / "first_order.npy").exists():
            panels.append((np.log10(np.load(run / "first_order.npy")), f"first-order: log10 |logit change|\n(split-half "
                           f"{m['first_order_split_half_spearman']:.2f})"))
        panels.append((np.log10(np.load(run / "sensitivity.npz")["mean"].mean(0)), "log10 gradient sensitivity"))
        for k, (ax, (img, title)) in enumerate(zip(row, panels)):
            H, W = img.shape
            rest = np.delete(img.ravel(), 0)            # DC ([0, 0]) does not set the colour scale
            # error rates on [0, 1]; log maps on 3 decades below their largest non-DC entry, so a flat map
            # of noise looks flat instead of being stretched over the colour scale
            lo, hi = (0.0, 1.0) if k == 0 else (float(np.nanmax(rest)) - 3, float(np.nanmax(rest)))
            im = ax.imshow(np.fft.fftshift(img), origin="lower", cmap="viridis", extent=fft_extent(H, W),
                           vmin=lo, vmax=hi)
            fig.colorbar(im, ax=ax, shrink=0.8, label="error rate" if k == 0 else "log10 (3 decades)")
            ax.set(title=f"depth {m['depth']}: {title}", xlabel="k_j", ylabel="k_i")
            ax.title.set_fontsize(8)
            if k == 0 and m.get("noise"):
                ax.text(0.5, 0.5, "NOISE\n(split-half < %.1f)" % RELIABLE, transform=ax.transAxes, ha="center",
                        va="center", color="red", fontsize=14, fontweight="bold")
        for ax in row[len(panels):]:
            ax.axis("off")
    save(fig, path)


def section(out, result) -> list[str]:
    lines = ["## Fourier heat maps (Yin et al. 2019) next to gradient sensitivity", "",
             "Published convention: grating of norm epsilon per channel in [0, 1] pixel space, random sign per image "
             "and channel, clipped, then normalised. Split-half reliability = Spearman between the maps of the two "
             f"halves of the images; below {RELIABLE} the map is labelled noise and not correlated. Clean error = "
             "1 - test accuracy (the heat map uses the first test images).", ""]
    noise = "noise: not correlated"
    f = Results(out).figure("heatmaps.png")
    try:
        if any("skipped" not in m for m in result["maps"]):
            figure(result, f)
            lines += [f"![]({f.relative_to(out)})", ""]
    except (OSError, KeyError, ValueError) as exc:
        lines += [f"(figure failed: {exc})", ""]
    lines += markdown_table(("run", "depth", "images", "epsilon", "clean error", "mean error under grating",
                             "max SE", "split-half Spearman", "Spearman(heat map, sensitivity)",
                             "first-order map: split-half", "Spearman(first-order, sensitivity)",
                             "Spearman(first-order, heat map)"),
                            [(Path(m["run"]).name, m["depth"], m.get("n_images"), m.get("epsilon"), m.get("clean_error"),
                              m.get("mean_error"), m.get("max_se"), m.get("split_half_spearman"),
                              noise if m.get("noise") else m.get("spearman_heatmap_vs_sensitivity"),
                              m.get("first_order_split_half_spearman"), m.get("spearman_first_order_vs_sensitivity"),
                              noise if m.get("noise") else m.get("spearman_first_order_vs_heatmap"))
                             if "skipped" not in m else (Path(m["run"]).name, m["depth"], m["skipped"], *[""] * 9)
                             for m in result["maps"]])
    lines += ["", "The first-order map is the expected change of the logits under the same grating and signs, to "
              "first order (``nets.measures.first_order_heat_map``): the quantity that links the heat map (label "
              "flips under a finite grating) to gradient sensitivity (the logits' response to one complex basis "
              "vector). The heat maps are per pixel unit and gradient sensitivity per normalised unit, averaged over "
              "channels before the rank correlation (the 1 / std_c rescaling between the units changes that average "
              "slightly)."]
    return lines + [""]


EXPERIMENT = Experiment("heatmap", "Fourier heat maps", PRESETS, run, section, needs=("depth",))
