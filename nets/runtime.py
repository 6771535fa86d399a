"""Process-level CPU settings for the command-line tools: torch threads and glibc's large-allocation policy.

Why the allocator: glibc serves every allocation above ``M_MMAP_THRESHOLD`` (at most 32 MiB by default) with a
fresh ``mmap`` and returns it to the kernel on ``free``, so each large torch tensor is page-faulted in (and
zeroed by the kernel) again on every step (the effect on the FFT layer is measured by ``python -m benchmarks
fft-conv-layer``, with and without ``FREQSENS_MALLOC=default``). The cost is that the process keeps its peak
heap instead of giving memory back. Opt out with ``FREQSENS_MALLOC=default``. Nothing here runs at import.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # mallopt parameter numbers (malloc.h)
MMAP_THRESHOLD = 1 << 30                        # serve allocations < 1 GiB from the heap
TRIM_THRESHOLD = (1 << 31) - 1                  # and keep up to 2 GiB of freed memory for reuse


STATE: dict = {"allocator": "default (tune_allocator not called)"}


def _record(what: str) -> str:
    STATE["allocator"] = what
    return what


def tune_allocator() -> str:
    """Raise glibc's mmap and trim thresholds (see the module docstring); returns what was done, for the
    provenance saved with results: ``"glibc mallopt"``, ``"default (FREQSENS_MALLOC=default)"``, or why not."""
    if os.environ.get("FREQSENS_MALLOC", "").lower() == "default":
        return _record("default (FREQSENS_MALLOC=default)")
    if not sys.platform.startswith("linux"):
        return _record(f"default (not glibc: {sys.platform})")
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and \
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    except (OSError, AttributeError):
        return _record("default (no mallopt in libc)")
    return _record("glibc mallopt" if ok else "default (mallopt refused)")


def configure(threads: int) -> dict:
    """Set torch's intra-op threads (on 2 cores, two processes with 2 threads each slow each other down
    several-fold, so callers pass what they own) and tune the allocator. Returns both settings."""
    import torch
    if threads < 1:
        raise ValueError(f"threads: expected >= 1, got {threads}")
    torch.set_num_threads(threads)
    return {"torch_threads": threads, "allocator": tune_allocator()}


def resolve_device(name: str):
    """``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda[:N]"`` as a ``torch.device``, checked
    against this machine; anything else (``meta``, ``mps``, ``cpu:7``, ``cuda:5`` on a one-GPU machine, CUDA
    without CUDA) is a ValueError naming the argument and what this machine has."""
    import torch
    name = str(name).strip()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device: expected auto, cpu or cuda[:N], got {name!r}") from None
    if dev.type == "cpu" and dev.index in (None, 0):
        return torch.device("cpu")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device: {name!r} requested but CUDA is not available on this machine (use cpu or auto)")
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise ValueError(f"device: {name!r} requested but this machine has {n} CUDA device(s) (cuda:0..cuda:{n - 1})")
        return dev
    raise ValueError(f"device: expected auto, cpu or cuda[:N], got {name!r} (freqsens runs on CPUs and CUDA GPUs)")


def preferred_layout(model):
    """``model`` moved to channels-last memory when it has ``nn.Conv2d`` layers (returned; in place like ``.to``).

    Why: oneDNN's convolutions train faster on NHWC than NCHW; measured on this project's 2-core CPU (1 thread,
    batch 128): ResNet-20 1.37-1.45x, MyrtleCNN 1.22-1.26x per training step. The values computed are the same
    convolutions (differences at float32 round-off); a state dict saved from it loads into either layout. The
    FFT layer (ConvActually, LinearCNN) works on spectra and is left as it is."""
    import torch
    if any(isinstance(m, torch.nn.Conv2d) for m in model.modules()) and channels_last_safe(model):
        model = model.to(memory_format=torch.channels_last)
    return model


def channels_last_safe(model) -> bool:
    """Whether channels-last training may be used for ``model``: on CUDA, and on CPUs whose torch kernels are
    AVX-512 (where the speed-ups above were measured). Why not elsewhere: on an AVX2-only CPU (AMD EPYC,
    torch 2.13.0 CPU build) training ResNet-20 or ResNet-8 of width 4-6 in channels-last corrupted the heap
    ("double free or corruption", abort) within 4 steps, while NCHW trained; the gain there was 1.04-1.2x."""
    import torch
    dev = next((p.device for p in model.parameters()), torch.device("cpu"))
    if dev.type != "cpu":
        return True
    return torch.backends.cpu.get_cpu_capability().upper().startswith("AVX512")
