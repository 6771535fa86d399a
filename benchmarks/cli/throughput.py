"""freqsens throughput: training images/s per model (:mod:`benchmarks.throughput`) from the command line."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from benchmarks import throughput
from benchmarks.throughput import check_memory, default_models, images_per_second, parse_model
from infra.cli import ArgumentParser, add_overwrite, capped, int_at_least, require_output_file


def main(argv=None, prog: str = "freqsens throughput") -> int:
    ap = ArgumentParser(prog=prog, description=throughput.__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", metavar="MODEL", help="registered model names, NAME-dDEPTH for a depth "
                    "(default: every registered model, and depth 2 of those with a depth)")
    ap.add_argument("--batch", type=int_at_least(1), default=128)
    ap.add_argument("--steps", type=int_at_least(1), default=3, help="timed steps per model (median reported)")
    ap.add_argument("--threads", type=int_at_least(1), default=1)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--out", default=None, help="JSON path (default benchmarks/results/throughput-<UTC>.json)")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    args.threads = capped(ap.prog, "--threads", args.threads)
    for m in args.models:
        try:
            parse_model(m)
        except ValueError as exc:
            ap.error(f"models: {exc}")
    from infra.resources import ResourceError
    from nets.runtime import configure, resolve_device
    try:
        resolve_device(args.device)
        for name in args.models or default_models():
            check_memory(name, args.batch)     # --batch 100000000 is refused here, not by the allocator
    except (ValueError, ResourceError) as exc:
        ap.error(str(exc))
    if args.out is not None:
        require_output_file(ap, "--out", args.out, args.overwrite)
    from benchmarks.harness import machine
    from infra.io import atomic_write_json, provenance
    configure(args.threads)
    device = str(resolve_device(args.device))
    out = Path(args.out) if args.out else Path("benchmarks/results") / (
        "throughput-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    rates = {}
    for name in args.models or default_models():
        rates[name] = images_per_second(name, args.batch, args.steps, device)
        print(f"{name:18s} {rates[name]:9.1f} img/s", flush=True)
        atomic_write_json(out, {"config": vars(args), "device": device, "machine": machine(), "images_per_s": rates,
                                "provenance": provenance()}, follow=True)
    print(f"written: {out}")
    return 0
