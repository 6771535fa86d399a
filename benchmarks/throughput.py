"""python -m benchmarks.throughput: training images/s per model (one SGD step = forward, backward, update).

Random 3x32x32 inputs and labels (the cost does not depend on the content), the optimiser of nets.train
(SGD, momentum 0.9, weight decay), one warm-up step, then ``--steps`` timed steps. An absolute rate, not
a ratio: it depends on the machine, which is saved with the numbers.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from infra.cli import ArgumentParser, add_overwrite, capped, int_at_least, require_output_file

def default_models() -> list[str]:
    """Every registered model (``nets.models``) at its default size, and depth 2 of those with a depth."""
    from nets.models import get_model_spec, model_names
    names = list(model_names())
    return names + [f"{n}-d2" for n in names if get_model_spec(n).uses_depth]


def parse_model(name: str) -> tuple[str, dict]:
    """``"convactually-d2"`` -> ``("convactually", {"depth": 2})``; the name must be registered."""
    from nets.models import get_model_spec
    base, _, d = name.partition("-d")
    kw = {"depth": int(d)} if d.isdigit() else {}
    if d and not d.isdigit():
        raise ValueError(f"model {name!r}: expected NAME or NAME-dDEPTH")
    get_model_spec(base)
    return base, kw


def images_per_second(name: str, batch: int, steps: int, device: str = "cpu") -> float:
    """Training throughput of one registered model at ``batch`` (images/s, median step time)."""
    import torch
    from nets.models import build_model
    torch.manual_seed(0)
    model_name, kw = parse_model(name)
    model = build_model(model_name, **kw).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if device != "cpu":
            torch.cuda.synchronize()

    from benchmarks.harness import median_time
    return batch / median_time(step, steps)


def main(argv=None) -> int:
    ap = ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.split("\n")[0])
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
    from nets.runtime import configure
    from nets.runtime import resolve_device
    try:
        resolve_device(args.device)
    except ValueError as exc:
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


if __name__ == "__main__":
    from infra.cli import entry
    sys.exit(entry(main, "python -m benchmarks.throughput"))
