"""python -m nets.stats: Fourier statistics of a dataset (paper Fig. 1a, 1b, 1c) with power-law fits.

Writes to --out: fig1a_covariance_plain.png, fig1b_covariance_torus.png, fig1c_tau.png,
tau_radial.png, stats.json (numbers, config, provenance) and stats.npz (tau, curves).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


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
    from nets.data import load_dataset
    from nets.synthetic import apply_filter
    from theory.spectra import (covariance_by_distance, fit_power_law, fourier_stats, off_diagonal_energy,
                                off_frequency_noise_floor, radial_average)

    t0 = time.time()
    data = load_dataset(cfg.dataset, data_root=cfg.data_root, seed=cfg.seed)
    if cfg.filter:
        data = apply_filter(data, cfg.filter)
    t_load = time.time() - t0
    x = data.split(cfg.split)[0][: cfg.max_images]
    from nets.data import normalise
    batches = (normalise(x[s:s + cfg.batch_size], data.mean, data.std) for s in range(0, len(x), cfg.batch_size))
    t1 = time.time()
    st = fourier_stats(batches, covariance=cfg.covariance, progress=True)
    tau = st.tau
    fit = fit_power_law(tau)
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


def plot(res: dict, out: Path, title: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []

    def save(fig, name):
        path = out / name
        tmp = out / f".{name}.tmp.png"
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        plt.close(fig)
        tmp.replace(path)
        written.append(name)

    for key, label, name in (("plain", "(a) plain distance", "fig1a_covariance_plain.png"),
                             ("torus", "(b) torus distance (eq. C.2)", "fig1b_covariance_torus.png")):
        if f"cov_{key}_r" in res:
            fig, ax = plt.subplots(figsize=(5, 3.5))
            ax.semilogy(res[f"cov_{key}_r"], res[f"cov_{key}_mean_abs"], ".-", ms=3)
            ax.set(xlabel="r = |(c,i,j) - (c',i',j')|", ylabel="E[|Sigma| : distance r]", title=f"{title} {label}")
            save(fig, name)
    tau = res["tau"]
    img = np.log(np.fft.fftshift(tau, axes=(-2, -1)))
    img = (img - img.min()) / max(img.max() - img.min(), 1e-12)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(np.moveaxis(img, 0, -1) if img.shape[0] == 3 else img.mean(0), origin="lower")
    ax.set(title=f"{title} (c) log tau, DC at centre", xticks=[], yticks=[])
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


def main(argv=None) -> int:
    from nets.data import DATASETS, DataError
    ap = argparse.ArgumentParser(prog="python -m nets.stats", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="embedded", help=f"one of {', '.join(DATASETS)}; options after '?', e.g. "
                    "'synthetic:grf?alpha=1.5&n_train=4000' (default embedded)")
    ap.add_argument("--filter", help="spectral filter: highpass:R, lowpass:R, bandpass:LO,HI, whiten, invert")
    ap.add_argument("--data-root", help="folder holding cifar-10-batches-py (else $FREQSENS_DATA)")
    ap.add_argument("--split", default="train", choices=["train", "val", "test"], help="split to measure (default train)")
    ap.add_argument("--max-images", type=int, help="use at most this many images")
    ap.add_argument("--no-covariance", dest="covariance", action="store_false",
                    help="skip the full (CHW)^2 covariance (Fig. 1a/1b); tau and fits only")
    ap.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    ap.add_argument("--out", default="results/stats", help="output folder (default results/stats)")
    args = ap.parse_args(argv)
    if args.max_images is not None and args.max_images < 2:
        ap.error(f"--max-images: expected an integer >= 2, got {args.max_images}")
    cfg = StatsConfig(**{k: v for k, v in vars(args).items()})
    try:
        res = compute(cfg)
    except DataError as exc:
        print(f"python -m nets.stats: error: {exc}", file=sys.stderr)
        return 2
    from theory._io import atomic_write_json, provenance
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    figs = plot(res, out, cfg.dataset + (f" + {cfg.filter}" if cfg.filter else ""))
    arrays = {k: v for k, v in res.items() if isinstance(v, np.ndarray)}
    tmp = out / ".stats.npz.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    tmp.replace(out / "stats.npz")
    numbers = {k: v for k, v in res.items() if not isinstance(v, np.ndarray)}
    atomic_write_json(out / "stats.json", {"config": asdict(cfg), "results": numbers, "figures": figs,
                                           "provenance": provenance()})
    pl = res["power_law"]
    print(f"{cfg.dataset}{' + ' + cfg.filter if cfg.filter else ''}: {res['n_images']} images; "
          f"alpha_radial = {pl['alpha_radial']:.3f} [{pl['alpha_radial_ci'][0]:.3f}, {pl['alpha_radial_ci'][1]:.3f}], "
          f"separable alpha = {pl['alpha']:.3f}, beta = {pl['beta']:.3f}"
          + (f"; covariance energy off the diagonal = {res['off_diagonal_energy']:.4f}, between different "
             f"frequencies = {res['off_frequency_energy']:.4f} (sampling-noise floor if diagonal: "
             f"{res['off_frequency_noise_floor']:.4f})" if "off_diagonal_energy" in res else "")
          + f"; stats {res['seconds_stats']:.1f} s; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
