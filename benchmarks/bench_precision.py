"""Faster training steps for the ``nn.Conv2d`` families (issue 33, point 5): bfloat16 autocast with channels-last
memory, and ``torch.compile``, each against the float32 step ``nets.train`` takes now (the model in its
preferred layout, ``nets.runtime.preferred_layout``). Ratio = float32 time / candidate time: a ratio below 1 is
a slowdown, and such a mode stays out of training.

Both sides start from the same weights and batch (128 images, the model's quick preset: SGD, momentum 0.9) and
take one optimiser step; the check compares the two parameter changes (relative L2). Measured here on an AVX2
CPU without bfloat16 kernels (``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` False): bf16 steps were 9-13x
slower (0.08x MyrtleCNN, 0.10x ResNet-14) and ``torch.compile`` 0.67-0.84x (three runs), so neither is used by
``nets.train``; on CPUs with AVX512-BF16 the
issue's probe saw 1.5-2.5x for bf16, which this entry would show.
"""
from __future__ import annotations

import copy

import torch

from benchmarks.harness import Case, register

BATCH = 128
# bfloat16 keeps 8 significant bits (relative rounding 2**-9 = 0.2 % per operation); one step's parameter change
# differs from float32's by a few per cent for MyrtleCNN and by 18 % for ResNet-14 (measured: BatchNorm's batch
# statistics in bfloat16). A wrong step (another batch, no step, another learning rate) differs by order 1.
RTOL_BF16 = 0.3
RTOL_COMPILE = 1e-3      # the same float32 arithmetic, reordered by the compiler


def _flat(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()]).double()


def _relative_l2(a, b) -> float:
    return float((a - b).norm() / b.norm())


def _step_case(name: str, width: int, mode: str, small: bool) -> Case:
    from nets.models import build_model, get_model_spec
    from nets.runtime import preferred_layout
    torch.manual_seed(0)
    size = 16 if small else 32
    n = 16 if small else BATCH
    base = build_model(name, None, 4 if small else width, 3, 10, (size, size))
    lr = get_model_spec(name).hyperparameters("quick")["lr"]
    x, y = torch.randn(n, 3, size, size), torch.randint(0, 10, (n,))
    start = _flat(base)

    def make(model, bf16: bool, compiled: bool):
        model = copy.deepcopy(model)
        if bf16:
            model = model.to(memory_format=torch.channels_last)
        else:
            model = preferred_layout(model)
        fwd = torch.compile(model) if compiled else model
        xb = x.contiguous(memory_format=torch.channels_last) if bf16 else x

        def step():
            # each call starts from the same weights: what is timed is one step, and its output is checkable
            with torch.no_grad():
                for p, q in zip(model.parameters(), base.parameters()):
                    p.copy_(q)
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = fwd(xb).float()
            loss = torch.nn.functional.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return _flat(model) - start
        return step

    candidate = make(base, mode == "bf16", mode == "compile")
    baseline = make(base, False, False)
    label = {"bf16": "bfloat16 autocast + channels-last", "compile": "torch.compile (inductor), float32"}[mode]
    return Case(f"one training step of {name} width {4 if small else width}, batch {n} at {size}x{size}", candidate,
                baseline, label, "float32 step as nets.train takes it", rtol=RTOL_BF16 if mode == "bf16" else RTOL_COMPILE,
                agreement=_relative_l2, repeats=3,
                extra={"bf16_kernels": float(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
                       "avx512": float(torch.backends.cpu.get_cpu_capability().upper().startswith("AVX512"))})


for _name, _w in (("myrtle", 16), ("resnet14", 8)):
    register(f"step-bf16-{_name}", f"training step of {_name}: bfloat16 autocast + channels-last vs float32 "
             "(issue 33: kept only where the ratio is > 1)", kind="training", target=1.0)(
        lambda small=False, _n=_name, _w=_w: _step_case(_n, _w, "bf16", small))
register("step-compile-myrtle", "training step of myrtle: torch.compile vs eager float32 (issue 33)", kind="training",
         target=1.0)(lambda small=False: _step_case("myrtle", 16, "compile", small))
