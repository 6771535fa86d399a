"""freqsens check: the theory check report (:mod:`theory.check`) from the command line."""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict

from infra.cli import ArgumentParser, add_overwrite, require_output_file, seed_type
from theory import check
from theory.check import CHECKS, format_table, run_checks


def main(argv=None, prog: str = "freqsens check") -> int:
    ap = ArgumentParser(prog=prog, description=check.__doc__.split("\n\n")[0],
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=20, help="random instances per check (default 20; "
                    "optimizer/solver checks use a quarter)")
    ap.add_argument("--seed", type=seed_type, default=0, help="seed for every random instance, in [0, 2**32) (default 0)")
    ap.add_argument("--only", nargs="+", metavar="NAME", choices=list(CHECKS), help="run only these checks")
    ap.add_argument("--json", metavar="PATH", help="also write the results, config and provenance as JSON")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    if args.instances < 1:
        ap.error(f"--instances: expected an integer >= 1, got {args.instances}")
    if args.json is not None:
        require_output_file(ap, "--json", args.json, args.overwrite)
    import torch
    torch.set_num_threads(1)  # small problems: one thread is fastest and never fights a neighbour
    t0 = time.time()
    results = run_checks(args.instances, args.seed, args.only, progress=True)
    print(format_table(results))
    bad = [r.identity for r in results if not r.ok]
    print(f"\n{len(results) - len(bad)}/{len(results)} checks as expected in {time.time() - t0:.1f} s"
          + (f"; NOT as expected: {bad}" if bad else ""))
    if args.json:
        from infra.io import atomic_write_json, provenance
        atomic_write_json(args.json, follow=True, obj={"config": vars(args), "results": [asdict(r) for r in results],
                                      "provenance": provenance()})
    return 1 if bad else 0
