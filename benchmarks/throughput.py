"""python -m benchmarks.throughput: training images/s per model (one SGD step = forward, backward, update).

Random 3x32x32 inputs and labels (the cost does not depend on the content), the optimiser of nets.train
(SGD, momentum 0.9, weight decay), one warm-up step, then ``--steps`` timed steps. An absolute rate, not
a ratio: it depends on the machine, which is saved with the numbers.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

# (name, build_model kwargs)
MODELS = {
    "convactually-d2": ("convactually", {"depth": 2}),
    "convactually-d4": ("convactually", {"depth": 4}),
    "linearcnn-d2": ("linearcnn", {"depth": 2}),
    "myrtle": ("myrtle", {}),
    "resnet20": ("resnet20", {}),
    "resnet9": ("resnet9", {}),
}


def images_per_second(name: str, batch: int, steps: int, device: str = "cpu") -> float:
    """Training throughput of one registered model at ``batch`` (images/s, median step time)."""
    import numpy as np
    import torch
    from nets.models import build_model
    torch.manual_seed(0)
    model_name, kw = MODELS[name]
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

    step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return batch / float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", metavar="MODEL", help=f"default all: {', '.join(MODELS)}")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per model (median reported)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--out", default=None, help="JSON path (default benchmarks/results/throughput-<UTC>.json)")
    args = ap.parse_args(argv)
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    if args.batch < 1 or args.steps < 1 or args.threads < 1:
        ap.error("--batch, --steps and --threads must be >= 1")
    from nets.runtime import configure
    from nets.training import resolve_device
    from benchmarks.harness import machine
    from infra.io import atomic_write_json
    configure(args.threads)
    device = str(resolve_device(args.device))
    out = Path(args.out) if args.out else Path("benchmarks/results") / (
        "throughput-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    rates = {}
    for name in args.models or list(MODELS):
        rates[name] = images_per_second(name, args.batch, args.steps, device)
        print(f"{name:18s} {rates[name]:9.1f} img/s", flush=True)
        atomic_write_json(out, {"config": vars(args), "device": device, "machine": machine(), "images_per_s": rates})
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
