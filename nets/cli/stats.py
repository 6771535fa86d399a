"""freqsens stats: Fourier statistics of a dataset (paper Fig. 1a, 1b, 1c) with power-law fits.

Writes to --out: fig1a_covariance_plain.png, fig1b_covariance_torus.png, fig1c_tau.png,
tau_radial.png, stats.json (numbers, config, provenance) and stats.npz (tau, curves).
"""
from __future__ import annotations

import sys
from pathlib import Path

from infra.cli import ArgumentParser, add_overwrite, require_output_folder, seed_type
from nets.experiments.stats import StatsConfig, write_stats


def main(argv=None, prog: str = "freqsens stats") -> int:
    from nets.data import DataError, dataset_names
    ap = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="embedded", help=f"one of {', '.join(dataset_names())}; options after '?', e.g. "
                    "'synthetic:grf?alpha=1.5&n_train=4000' (default embedded)")
    ap.add_argument("--filter", help="spectral filter: highpass:R, lowpass:R, bandpass:LO,HI, whiten, invert")
    ap.add_argument("--data-root", help="folder holding cifar-10-batches-py (else $FREQSENS_DATA)")
    ap.add_argument("--split", default="train", choices=["train", "val", "test"], help="split to measure (default train)")
    ap.add_argument("--max-images", type=int, help="use at most this many images")
    ap.add_argument("--no-covariance", dest="covariance", action="store_false",
                    help="skip the full (CHW)^2 covariance (Fig. 1a/1b); tau and fits only")
    ap.add_argument("--seed", type=seed_type, default=0, help="dataset seed (default 0)")
    ap.add_argument("--out", default="results/stats", help="output folder (default results/stats)")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    if args.max_images is not None and args.max_images < 2:
        ap.error(f"--max-images: expected an integer >= 2, got {args.max_images}")
    require_output_folder(ap, "--out", args.out, "nets.stats", args.overwrite)
    cfg = StatsConfig(**{k: v for k, v in vars(args).items() if k != "overwrite"})
    from infra.io import LockError
    try:
        res = write_stats(cfg, args.overwrite)
    except (DataError, LockError) as exc:   # a ResourceError (too large a covariance) is a DataError
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    out = Path(cfg.out)
    pl = res["power_law"]
    print(f"{cfg.dataset}{' + ' + cfg.filter if cfg.filter else ''}: {res['n_images']} images; "
          f"alpha_radial = {pl['alpha_radial']:.3f} [{pl['alpha_radial_ci'][0]:.3f}, {pl['alpha_radial_ci'][1]:.3f}], "
          f"separable alpha = {pl['alpha']:.3f}, beta = {pl['beta']:.3f}"
          + (f"; covariance energy off the diagonal = {res['off_diagonal_energy']:.4f}, between different "
             f"frequencies = {res['off_frequency_energy']:.4f} (sampling-noise floor if diagonal: "
             f"{res['off_frequency_noise_floor']:.4f})" if "off_diagonal_energy" in res else "")
          + f"; stats {res['seconds_stats']:.1f} s; written to {out}")
    return 0
