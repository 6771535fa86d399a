"""freqsens gpu-check --out DIR: every CUDA path once, measured, under a time budget (:mod:`benchmarks.gpu_check`)."""
from __future__ import annotations

import sys
from pathlib import Path

from benchmarks import gpu_check
from infra.cli import ArgumentParser, add_overwrite, finite_float, int_at_least, require_output_folder


def main(argv=None, prog: str = "freqsens gpu-check") -> int:
    ap = ArgumentParser(prog=prog, description=gpu_check.__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder (gpu_check.json, gpu_check.md, depth runs)")
    ap.add_argument("--budget", type=finite_float(60, strict=False), default=420.0,
                    help="total seconds this script may take, >= 60 (default 420)")
    ap.add_argument("--dry", action="store_true", help="tiny sizes: a CPU smoke run of every step (< 1 minute)")
    ap.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    ap.add_argument("--width", type=int_at_least(1), default=64, help="ConvActually width for the depth experiment (paper: 64)")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    require_output_folder(ap, "--out", args.out, "benchmarks.gpu_check", args.overwrite)
    from infra.io import FolderLock, LockError
    from nets.runtime import resolve_device
    try:
        device = resolve_device(args.device)
        lock = FolderLock(args.out, tool="benchmarks.gpu_check", overwrite=args.overwrite).acquire()
    except (ValueError, LockError) as exc:
        ap.error(str(exc))
    try:
        result = gpu_check.check_all(Path(args.out), device, args.budget, args.dry, args.width)
    finally:
        lock.release()
    failed = result["failed"]
    print(f"[gpu_check] done in {result['elapsed']:.0f} s; written {Path(args.out) / 'gpu_check.md'}"
          + (f"; FAILED steps: {failed}" if failed else ""))
    if result["all_skipped"]:
        print("[gpu_check] every step was skipped for time: give a larger --budget", file=sys.stderr)
        return 1
    return 1 if failed else 0
