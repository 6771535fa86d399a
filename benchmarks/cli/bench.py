"""freqsens bench [NAME ...]: time freqsens against baselines in the same run, print ratios, write JSON."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from infra.cli import ArgumentParser, add_overwrite, capped, finite_float, int_at_least, require_output_file
from benchmarks import harness


def _run_all(names, args, out, results: list, skipped: dict) -> None:
    """Run the named entries in order, rewriting the JSON after each (partial results survive)."""
    from infra.io import atomic_write_json
    gemm = harness.run_gemm(args.small)
    print(f"[benchmarks] float32 GEMM at {gemm['n']}: " + ", ".join(
        f"{k} {gemm[k] / 1e9:.0f} GFLOP/s" for k in ("numpy", "torch") if k in gemm), file=sys.stderr, flush=True)
    for name in names:
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        try:
            r = harness.run_one(name, args.repeats, args.min_time, small=args.small)
            results.append(r)
            extra = "".join(f", {k} {v:.3g}" for k, v in (r.extra or {}).items())
            print(f"[benchmarks] {name}: {r.speedup:.2f}x ({r.candidate.median_s:.4g} s vs {r.baseline.median_s:.4g} s"
                  f"{extra})", file=sys.stderr, flush=True)
        except harness.Skip as why:   # a peer that is not installed: said, never faked
            skipped[name] = str(why)
            print(f"[benchmarks] {name}: SKIPPED: {why}", file=sys.stderr, flush=True)
        atomic_write_json(out, {**harness.to_json(results, vars(args), gemm), "skipped": skipped}, follow=True)


def main(argv=None, prog: str = "freqsens bench") -> int:
    harness.load_all()
    ap = ArgumentParser(prog=prog, description=__doc__.split(":", 1)[1].strip())
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all): {', '.join(harness.REGISTRY)}")
    ap.add_argument("--list", action="store_true", help="list the registered benchmarks and exit")
    ap.add_argument("--repeats", type=int_at_least(1), default=5, help="timed samples per side (default 5)")
    ap.add_argument("--min-time", type=finite_float(0, strict=True), default=0.2, help="seconds per sample, at least (default 0.2)")
    ap.add_argument("--threads", type=int_at_least(1), default=1, help="torch/BLAS threads (default 1: stable timings)")
    ap.add_argument("--small", action="store_true", help="CI-sized instances (checks the entries, not a speed claim)")
    ap.add_argument("--out", default=None, help="JSON output path (default benchmarks/results/<UTC time>.json)")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    args.threads = capped(ap.prog, "--threads", args.threads)
    if args.list:
        for name, desc in harness.DESCRIPTIONS.items():
            print(f"{name}: {desc}")
        return 0
    unknown = [n for n in args.names if n not in harness.REGISTRY]
    if unknown:
        ap.error(f"NAME: unknown benchmark(s) {unknown}; choose from {list(harness.REGISTRY)}")
    if args.out is not None:
        require_output_file(ap, "--out", args.out, args.overwrite)
    try:
        from nets.runtime import configure
        configure(args.threads)       # torch threads + allocator (FREQSENS_MALLOC=default to compare without)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
    except ImportError:
        pass
    names = args.names or list(harness.REGISTRY)
    out = Path(args.out) if args.out else Path("benchmarks/results") / (
        datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    import scipy.fft
    results, skipped = [], {}
    with scipy.fft.set_workers(args.threads):   # scipy's FFTs use the same thread count as BLAS and torch
        _run_all(names, args, out, results, skipped)
    m = harness.machine()
    print(f"machine: {m}")
    print(f"float32 GEMM: {harness.run_gemm(args.small)}")
    print(harness.format_table(results))
    for r in results:
        if r.extra:
            print(f"{r.name}: " + ", ".join(f"{k} = {v:.3g}" for k, v in r.extra.items()))
    for name, why in skipped.items():
        print(f"{name}: SKIPPED ({why})")
    print(f"written: {out}")
    return 0

