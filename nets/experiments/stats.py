"""Image statistics (paper Fig. 1a, 1b, 1c, appendix C.1): tau, covariance against distance, power-law fit.

``compute`` and ``plot`` serve both this experiment and the ``freqsens stats`` CLI.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from infra.tables import fmt
from nets.experiments.registry import Experiment
from nets.results import Results

PRESETS = {"tiny": dict(stats_images=500), "quick": dict(stats_images=20000), "cifar": dict(stats_images=20000),
           "cifar-quick": dict(stats_images=20000),
           "standard": dict(stats_images=None), "paper": dict(stats_images=None)}


@dataclass
class StatsConfig:
    dataset: str = "embedded"
    filter: str | None = None
    data_root: str | None = None
    split: str = "train"
    max_images: int | None = None
    covariance: bool = True
    batch_size: int = 2000
    seed: int = 0
    out: str = "results/stats"


def compute(cfg: StatsConfig) -> dict:
    """Load the dataset, stream its statistics, return numbers and arrays (no files written)."""
    from nets.data import DataError, load, normalise
    from theory.spectra import (covariance_by_distance, fit_power_law, fourier_stats, off_diagonal_energy,
                                off_frequency_noise_floor, radial_average)

    t0 = time.time()
    data = load(cfg.dataset, data_root=cfg.data_root, seed=cfg.seed, filter=cfg.filter)
    t_load = time.time() - t0
    if cfg.covariance:   # the (CHW)^2 complex128 covariance, accumulated and transformed: ~4 copies
        from infra.resources import ResourceError, require_memory
        d = int(np.prod(data.shape))
        try:
            require_memory(4 * 16.0 * d * d, f"the covariance of {d} features (C*H*W of {tuple(data.shape)}; "
                           "--no-covariance skips it)")
        except ResourceError as exc:
            raise DataError(str(exc)) from None
    x = data.split(cfg.split)[0][: cfg.max_images]
    if len(x) < 2:   # a variance needs two images (an empty split used to end in a traceback)
        counts = ", ".join(f"{k} {len(data.split(k)[1])}" for k in ("train", "val", "test"))
        raise DataError(f"--split {cfg.split}: expected at least 2 images, found {len(x)} ({counts})")
    batches = (normalise(x[s:s + cfg.batch_size], data.mean, data.std) for s in range(0, len(x), cfg.batch_size))
    t1 = time.time()
    st = fourier_stats(batches, covariance=cfg.covariance, progress=True)
    tau = st.tau
    try:
        fit = fit_power_law(tau)
    except ValueError as exc:   # images too small (or too uniform) for the power-law fit of eq. 4.6's tau
        raise DataError(f"--dataset {cfg.dataset}: {exc} (images of {tuple(data.shape)}, {st.n} of them)") from None
    r, tau_radial = radial_average(tau.mean(axis=0))
    out = {"n_images": st.n, "shape": list(data.shape), "power_law": asdict(fit), "tau": tau,
           "tau_radial_r": r, "tau_radial": tau_radial, "seconds_load": t_load}
    if cfg.covariance:
        Sigma = st.fourier_covariance()
        out["off_diagonal_energy"] = off_diagonal_energy(Sigma)
        out["off_frequency_energy"] = off_diagonal_energy(Sigma, data.shape)
        out["off_frequency_noise_floor"] = off_frequency_noise_floor(tau, st.n)
        for name, torus in (("plain", False), ("torus", True)):
            rr, m, c = covariance_by_distance(Sigma, data.shape, torus=torus)
            out[f"cov_{name}_r"], out[f"cov_{name}_mean_abs"], out[f"cov_{name}_count"] = rr, m, c
    out["seconds_stats"] = time.time() - t1
    return out


def write_stats(cfg: StatsConfig, overwrite: bool = False) -> dict:
    """``freqsens stats``: :func:`compute`, then, in the folder ``cfg.out`` opened through ``infra.io.FolderLock``
    (the output-folder rule, one writer, the marker), the figures of :func:`plot`, ``stats.npz`` (arrays) and
    ``stats.json`` (numbers, config, provenance). Returns the result of :func:`compute`."""
    from infra.io import FolderLock, atomic_save_npz, atomic_write_json, provenance
    res = compute(cfg)     # a data or size error is raised before the folder is touched
    out = Path(cfg.out)
    with FolderLock(out, tool="nets.stats", overwrite=overwrite):
        figs = plot(res, out, cfg.dataset + (f" + {cfg.filter}" if cfg.filter else ""))
        atomic_save_npz(out / "stats.npz", **{k: v for k, v in res.items() if isinstance(v, np.ndarray)})
        numbers = {k: v for k, v in res.items() if not isinstance(v, np.ndarray)}
        atomic_write_json(out / "stats.json", {"config": asdict(cfg), "results": numbers, "figures": figs,
                                               "provenance": provenance()})
    return res


def plot(res: dict, out: Path, title: str) -> list[str]:
    from infra.io import atomic_save_figure
    from nets.plots import fft_extent, spectrum_image, use_agg
    plt = use_agg()
    written = []

    def save(fig, name):
        atomic_save_figure(fig, out / name, dpi=110)
        written.append(name)

    for key, label, name in (("plain", "(a) plain distance", "fig1a_covariance_plain.png"),
                             ("torus", "(b) torus distance (eq. C.2)", "fig1b_covariance_torus.png")):
        if f"cov_{key}_r" in res:
            fig, ax = plt.subplots(figsize=(5, 3.5))
            ax.semilogy(res[f"cov_{key}_r"], res[f"cov_{key}_mean_abs"], ".-", ms=3)
            ax.set(xlabel="r = |(c,i,j) - (c',i',j')|", ylabel="E[|Sigma| : distance r]", title=f"{title} {label}")
            save(fig, name)
    tau = np.asarray(res["tau"], float)
    H, W = tau.shape[-2:]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4))
    a.imshow(spectrum_image(tau), origin="lower", extent=fft_extent(H, W))
    a.set(title=f"{title} (c) log tau as RGB\n(one channel per colour, each min-max scaled)", xlabel="k_j (cycles per image)",
          ylabel="k_i")
    im = b.imshow(np.log10(np.fft.fftshift(tau.mean(0) if tau.ndim == 3 else tau)), origin="lower",
                  extent=fft_extent(H, W), cmap="viridis")
    fig.colorbar(im, ax=b, label="log10 tau (channel mean, normalised units squared)")
    b.set(title="log10 tau, channel mean, DC at the centre", xlabel="k_j (cycles per image)", ylabel="k_i")
    for ax in (a, b):
        ax.title.set_fontsize(9)
    fig.tight_layout()
    save(fig, "fig1c_tau.png")
    pl = res["power_law"]
    r, t = res["tau_radial_r"], res["tau_radial"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.loglog(r[1:], t[1:], ".", ms=3, label="radial mean of tau")
    ax.loglog(r[1:], pl["gamma_radial"] / r[1:] ** pl["alpha_radial"], "-",
              label=f"gamma / r^alpha, alpha = {pl['alpha_radial']:.2f}")
    ax.set(xlabel="r = |k|", ylabel="tau", title=f"{title}: power law")
    ax.legend()
    save(fig, "tau_radial.png")
    return written


def run(ctx, p, pool) -> dict:
    from infra.io import atomic_write
    res = compute(StatsConfig(dataset=ctx.dataset, data_root=ctx.data_root, max_images=p["stats_images"]))
    plot(res, Results(ctx.out).figures(), ctx.dataset)
    atomic_write(Results(ctx.out).file("data_tau"), lambda f: np.save(f, res["tau"]))
    return {k: v for k, v in res.items() if not isinstance(v, np.ndarray)}


def section(out, stats) -> list[str]:
    pl = stats["power_law"]
    return ["## Image statistics (Fig. 1)", "",
            f"{stats['n_images']} training images. Power law of tau: alpha_radial = {fmt(pl['alpha_radial'])} "
            f"[{fmt(pl['alpha_radial_ci'][0])}, {fmt(pl['alpha_radial_ci'][1])}]; separable alpha = {fmt(pl['alpha'])}, "
            f"beta = {fmt(pl['beta'])}. Covariance energy between different frequencies: "
            f"{fmt(stats.get('off_frequency_energy'))} (sampling-noise floor {fmt(stats.get('off_frequency_noise_floor'))}); "
            f"off the diagonal including colour correlations: {fmt(stats.get('off_diagonal_energy'))}.", "",
            "![](figures/fig1a_covariance_plain.png) ![](figures/fig1b_covariance_torus.png) "
            "![](figures/fig1c_tau.png) ![](figures/tau_radial.png)", ""]


EXPERIMENT = Experiment("stats", "Image statistics (Fig. 1)", PRESETS, run, section)
