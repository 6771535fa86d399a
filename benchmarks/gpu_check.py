"""freqsens gpu-check --out DIR: run every CUDA path once, measure it, and run the depth experiment
at the paper's width, on whatever device is found, under a time budget the script enforces itself.

Steps (each recorded in ``DIR/gpu_check.json`` and ``DIR/gpu_check.md`` as soon as it finishes):

1. the FFT layer against ``nn.Conv2d(padding_mode="circular")`` on the device: values and input/weight/bias
   gradients in float32, and under bfloat16 autocast (tolerance: 3 bf16 roundings of the operands,
   ``3 * 2^-8`` relative to the largest entry, as both paths round their inputs to bf16 once);
2. one training step of every registered model at its paper batch size (appendix C.5), float32 and
   bfloat16 autocast, images/s; the FFT layer vs ``nn.Conv2d`` with a 32x32 kernel (cuDNN), as a ratio;
3. the sensitivity map (exact, K backward passes) per image for ConvActually and MyrtleCNN, and the
   agreement of the bfloat16-autocast map with the float32 one;
4. the depth experiment (hypothesis I) at width 64 on the embedded data, depths 1..6, 2 seeds, with as
   many epochs as the remaining budget allows, and its report section.

``--dry``: tiny sizes, so that the whole script runs on a CPU in under a minute (the tests run it).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from infra.cli import Terminated
from infra.io import atomic_write_json, atomic_write_text, provenance

BF16_RTOL = 3 * 2.0 ** -8


class Budget:
    """Wall-clock budget: ``left()`` seconds remain; steps that cannot fit are skipped and say so."""

    def __init__(self, seconds: float):
        self.t0, self.seconds = time.time(), seconds

    def left(self) -> float:
        return self.seconds - (time.time() - self.t0)


def _sync(device):
    import torch
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(fn, device, repeats: int = 3) -> float:
    """Median seconds of ``fn()`` after one warm-up call."""
    fn()
    _sync(device)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def _rel(a, b) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-300))


def check_fft_layer(device, dry: bool) -> dict:
    """FFT layer vs circular nn.Conv2d: max relative errors of outputs and gradients, float32 and bf16 autocast."""
    import torch
    from nets.models import FFTCircularConv2d
    B, C, O, H = (2, 3, 4, 8) if dry else (16, 64, 64, 32)
    torch.manual_seed(0)
    fft = FFTCircularConv2d(C, O, (H, H)).to(device)
    conv = torch.nn.Conv2d(C, O, H, padding="same", padding_mode="circular").to(device)
    conv.load_state_dict(fft.state_dict())
    x = torch.randn(B, C, H, H, device=device)
    out = {}
    for mode in ("float32", "bfloat16"):
        res = []
        for layer in (fft, conv):
            xi = x.clone().requires_grad_(True)
            layer.zero_grad()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bfloat16"):
                y = layer(xi)
            y.float().square().sum().backward()
            res.append((y.float().detach(), xi.grad, layer.weight.grad, layer.bias.grad))
        errs = {k: _rel(a, b) for k, a, b in zip(("output", "grad_input", "grad_weight", "grad_bias"), *res)}
        tol = 1e-4 if mode == "float32" else BF16_RTOL
        out[mode] = {"max_rel_error": errs, "tolerance": tol, "ok": max(errs.values()) <= tol}
    return out


def time_models(device, dry: bool, budget: Budget) -> dict:
    """Images/s of one SGD step of every registered model at its paper batch, float32 and bf16 autocast."""
    import torch
    from nets.models import build_model, get_model_spec, model_names
    rows = {}
    for name in model_names():
        if budget.left() < 30 and not dry:
            rows[name] = {"skipped": "time budget"}
            continue
        batch = 4 if dry else get_model_spec(name).paper.get("batch_size", 128)
        torch.manual_seed(0)
        model = build_model(name, width=4 if dry else 64).to(device).train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
        x = torch.randn(batch, 3, 32, 32, device=device)
        y = torch.randint(0, 10, (batch,), device=device)
        row = {"batch": batch}
        for mode in ("float32", "bfloat16"):
            def step():
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bfloat16"):
                    loss = torch.nn.functional.cross_entropy(model(x).float(), y)
                loss.backward()
                opt.step()
            row[f"images_per_s_{mode}"] = batch / _time(step, device, 1 if dry else 3)
        rows[name] = row
    return rows


def fft_vs_cudnn(device, dry: bool) -> dict:
    """Forward+backward of a 32x32-kernel circular conv: the FFT layer vs nn.Conv2d (cuDNN on CUDA)."""
    import torch
    from nets.models import FFTCircularConv2d
    B, C, H = (2, 4, 8) if dry else (128, 64, 32)
    fft = FFTCircularConv2d(C, C, (H, H)).to(device)
    conv = torch.nn.Conv2d(C, C, H, padding="same", padding_mode="circular").to(device)
    x = torch.randn(B, C, H, H, device=device, requires_grad=True)

    def run(layer):
        return lambda: layer(x).square().sum().backward()

    t_fft, t_conv = _time(run(fft), device), _time(run(conv), device, 1)
    return {"workload": f"batch {B}, {C}->{C}, {H}x{H}, fwd+bwd with input grads", "fft_s": t_fft,
            "conv2d_s": t_conv, "speedup": t_conv / t_fft}


def time_sensitivity(device, dry: bool) -> dict:
    """Sensitivity map per image (exact method) for ConvActually and MyrtleCNN; bf16 vs float32 agreement."""
    import torch
    from nets.measures import frequency_sensitivity
    from nets.models import build_model
    out = {}
    n = 4 if dry else 256
    x = torch.randn(n, 3, 32, 32, device=device)
    for name in ("convactually", "myrtle"):
        torch.manual_seed(0)
        model = build_model(name, width=4 if dry else 64).to(device).eval()
        t0 = time.perf_counter()
        s32 = frequency_sensitivity(model, x, batch_size=n)
        _sync(device)
        dt = time.perf_counter() - t0
        with torch.autocast(device.type, dtype=torch.bfloat16):
            s16 = frequency_sensitivity(model, x, batch_size=n)
        err = float(np.abs(s16.mean - s32.mean).max() / np.abs(s32.mean).max())
        out[name] = {"images": n, "seconds_per_image": dt / n, "bf16_max_rel_error": err,
                     "bf16_usable": err <= 0.05}
    return out


def depth_experiment(out: Path, dry: bool, budget: Budget, width: int) -> dict:
    """Hypothesis I at ``width`` on the embedded data: depths 1..6, 2 seeds; epochs from a timed first run."""
    from nets.experiments import Context, TaskPool
    from nets.experiments import depth as depth_exp
    from nets.experiments.sweep import analyse_runs, make_task
    from nets.experiments.trends import trend_table
    depths = [1, 2] if dry else [1, 2, 3, 4, 5, 6]
    seeds = 1 if dry else 2
    dataset = "embedded?n_train=200&n_val=50&n_test=100" if dry else "embedded?n_train=20000&n_val=2000&n_test=5000"
    ctx = Context(dataset, "tiny" if dry else "paper", seeds, out / "depth")

    def tasks(epochs):
        return [make_task(ctx, {"experiment": "depth", "model": "convactually", "depth": d}, "convactually", s,
                          depth=d, width=width, max_epochs=epochs, n_test=None, batch_size=64 if dry else 256,
                          lr=1e-3 if dry else 3e-4, patience=10, weight_decay=1e-4)
                for d in depths for s in range(seeds)]
    # time one epoch of the deepest model, then give every run the same number of epochs that fits
    probe = tasks(1)[-1]
    t0 = time.time()
    TaskPool().run_tasks("gpu-probe", [probe])
    per_epoch = max(time.time() - t0, 1e-3)
    n_runs = len(depths) * seeds
    epochs = 1 if dry else int(max(1, min(200, 0.8 * (budget.left() - 30) / (per_epoch * n_runs))))
    ok, res = analyse_runs(TaskPool().run_tasks("depth", tasks(epochs)))
    res["hypothesis_I"] = trend_table(ok, "depth", "model")
    section = depth_exp.section(ctx.out, res)
    return {"epochs": epochs, "seconds_per_epoch_deepest": per_epoch, "width": width, "dataset": dataset,
            "runs": [{k: r.get(k) for k in ("depth", "seed", "test_acc", "moment1", "moment2", "spearman_tau")}
                     for r in res["runs"]],
            "hypothesis_I": res["hypothesis_I"], "section": section}


STEPS = ("fft_layer", "fft_vs_cudnn", "models", "sensitivity", "depth")


def markdown(result: dict) -> str:
    """The report of whichever steps finished: a failed step is a row with its error, an interrupted run says
    where it stopped; never a lost file."""
    lines = [f"# GPU check on {result['device_name']}", "", f"torch {result['torch']}, dry={result['dry']}", "",
             "| step | status | seconds |", "|---|---|---|"]
    for step in STEPS:
        r = result.get(step)
        status = ("not run" if r is None else f"FAILED: {r['error']}" if isinstance(r, dict) and "error" in r
                  else "done")
        lines.append(f"| {step} | {status} | {result.get('seconds', {}).get(step, '')} |")
    lines.append("")
    if result.get("interrupted"):
        lines += [f"**Interrupted** ({result['interrupted']}): the steps above that are done are complete.", ""]
    for step in STEPS[:-1]:
        if isinstance(result.get(step), dict) and "error" not in result[step]:
            lines += [f"## {step}", "", "```", __import__("json").dumps(result[step], indent=1), "```", ""]
    if isinstance(result.get("depth"), dict) and "section" in result["depth"]:
        lines += result["depth"]["section"]
    for s in result.get("skipped", []):
        lines.append(f"- skipped: {s}")
    return "\n".join(lines) + "\n"


def check_all(out: Path, device, seconds: float, dry: bool, width: int) -> dict:
    """Run the steps of the module docstring on ``device`` within ``seconds``, rewriting ``out/gpu_check.json``
    and ``out/gpu_check.md`` after each; a step that fails is recorded and the others still run. A signal
    (SIGINT/SIGTERM) saves what finished, names the step it interrupted, and is re-raised. Returns the result
    dict with ``failed`` (step names) and ``all_skipped``."""
    import torch

    from nets.runtime import configure
    configure(1 if device.type == "cpu" else 4)
    budget = Budget(seconds)
    result = {"device": str(device), "dry": dry, "torch": torch.__version__, "provenance": provenance(),
              "device_name": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", "skipped": []}

    def save():
        atomic_write_json(out / "gpu_check.json", {k: v for k, v in result.items()})
        atomic_write_text(out / "gpu_check.md", markdown(result))

    steps = [("fft_layer", lambda: check_fft_layer(device, dry)),
             ("fft_vs_cudnn", lambda: fft_vs_cudnn(device, dry)),
             ("models", lambda: time_models(device, dry, budget)),
             ("sensitivity", lambda: time_sensitivity(device, dry)),
             ("depth", lambda: depth_experiment(out, dry, budget, 4 if dry else width))]
    name = "start"
    try:
        for name, fn in steps:
            if budget.left() < 20:
                result["skipped"].append(f"{name} (time budget)")
                continue
            t0 = time.time()
            print(f"[gpu_check] {name} ({budget.left():.0f} s left)", file=sys.stderr, flush=True)
            try:
                result[name] = fn()
            except Exception as exc:  # noqa: BLE001 - one step's failure is recorded; the others still run
                result[name] = {"error": f"{type(exc).__name__}: {exc}"}
            result.setdefault("seconds", {})[name] = round(time.time() - t0, 2)
            save()
    except (KeyboardInterrupt, Terminated) as exc:   # the report keeps what finished, then the signal's exit
        result["interrupted"] = f"{type(exc).__name__} during {name}"
        save()
        raise
    result["elapsed"] = seconds - budget.left()
    result["failed"] = [n for n, _ in steps if isinstance(result.get(n), dict) and "error" in result[n]]
    result["all_skipped"] = len(result["skipped"]) == len(steps)
    return result
