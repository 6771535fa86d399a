"""freqsens conjecture: the counterexample search (:mod:`theory.conjecture_search`) from the command line."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.cli import (ArgumentParser, add_overwrite, capped, finite_float, int_at_least, require_output_folder,
                       seed_type)
from theory import conjecture_search as cs
from theory.conjecture_search import REGIMES, SAMPLERS, Interrupted, SearchConfig, format_summary


def _int_list(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"expected integers >= 1 (L = number of factors), got {text!r}")
    return vals


def main(argv=None, prog: str = "freqsens conjecture") -> int:
    ap = ArgumentParser(prog=prog, description=cs.__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int_at_least(1), help="new samples to test this run (default 20000 if no --time)")
    ap.add_argument("--time", type=finite_float(0, strict=True), help="wall-clock budget in seconds")
    ap.add_argument("--L", type=_int_list, default=[2, 3, 4, 6, 8], help="numbers of factors, e.g. 2,3,8 (default 2,3,4,6,8)")
    ap.add_argument("--max-dim", type=int_at_least(1), default=6, help="largest matrix dimension (default 6)")
    ap.add_argument("--regime", nargs="+", choices=REGIMES, default=list(REGIMES), help="exponent regimes (default all)")
    ap.add_argument("--sampler", nargs="+", choices=SAMPLERS, default=list(SAMPLERS), help="samplers (default all)")
    ap.add_argument("--seed", type=seed_type, default=0, help="seed in [0, 2**32): the same seed gives the same samples")
    ap.add_argument("--chunk", type=int_at_least(1), default=256, help="samples per chunk (default 256)")
    ap.add_argument("--adversarial-every", type=int_at_least(0), default=8, help="every n-th chunk is adversarial (0: none)")
    ap.add_argument("--adversarial-steps", type=int_at_least(1), default=200, help="Adam steps per adversarial chunk")
    ap.add_argument("--workers", type=int_at_least(1), default=1, help="local worker processes (default 1)")
    ap.add_argument("--scheduler", help="Dask scheduler address (tcp://host:port) or 'local' for a LocalCluster "
                    "(needs the dask extra: pip install 'freqsens[dask]')")
    ap.add_argument("--out", default="results/conjecture", help="output folder (search.json)")
    ap.add_argument("--resume", action="store_true", help="continue the search saved in --out")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    if any(v < 1 for v in args.L):
        ap.error("--L: expected integers >= 1")
    require_output_folder(ap, "--out", args.out, "theory.conjecture_search", args.overwrite)
    if not args.scheduler:
        args.workers = capped(ap.prog, "--workers", args.workers)
    cfg = SearchConfig(L=args.L, max_dim=args.max_dim, regimes=args.regime, samplers=args.sampler, seed=args.seed,
                       chunk=args.chunk, adversarial_every=max(args.adversarial_every, 0),
                       adversarial_steps=args.adversarial_steps)
    try:
        state = cs.search(cfg, Path(args.out), args.samples, args.time, args.workers, args.scheduler, args.resume,
                       overwrite=args.overwrite)
    except (ValueError, ConnectionError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.code
    print(format_summary(state))
    print(f"written: {Path(args.out) / 'search.json'}")
    bugs = sum(v.get("bug_flags", 0) for v in state["summary"].values())
    return 1 if state["counterexamples"] or bugs else 0
