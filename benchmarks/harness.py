"""Benchmark registry and timing: candidate vs baseline in the same process, reported as ratios.

A benchmark is a function returning a :class:`Case`: two zero-argument callables computing the
same thing (the harness checks their outputs agree before timing) and a description of the
workload. Timing: warm-up, then ``repeats`` measurements, each of enough calls to last
>= ``min_time`` seconds; the median and the interquartile range per call are reported.
Speed is never asserted in tests; only here, as ratios measured in one run.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from infra.tables import text_table


class Skip(Exception):
    """Raised by a benchmark's builder when its peer is not installed: the entry says so and is skipped."""


@dataclass
class Case:
    workload: str                    # what is computed, with sizes
    candidate: Callable[[], object]  # the freqsens implementation
    baseline: Callable[[], object]   # the obvious / published way
    candidate_name: str
    baseline_name: str
    rtol: float = 1e-8               # outputs must agree to this relative error
    repeats: int | None = None       # override the run's repeats (1 for minute-long baselines)
    # discrepancy of (candidate output, baseline output); default: max elementwise relative difference
    agreement: Callable[[object, object], float] | None = None
    baseline_runs: bool = True       # False: the baseline cannot solve this problem (reason in baseline_name)
    slow_baseline: bool = False      # True: candidate timed as usual, the (minute-long) baseline once, warmed up
    extra: dict | None = None        # numbers reported next to the timing (e.g. useful FLOP, GEMM rate)


@dataclass
class Timing:
    median_s: float
    q25_s: float
    q75_s: float
    calls: int


@dataclass
class Result:
    name: str
    workload: str
    candidate_name: str
    baseline_name: str
    candidate: Timing
    baseline: Timing
    speedup: float          # baseline median / candidate median
    max_rel_diff: float     # agreement of the two outputs
    extra: dict | None = None
    kind: str = "context"   # "peer" (what a user would pick instead), "training", "context" (definitions, cvxpy)
    target: float | None = None   # the speedup this entry should reach (None: none set)


REGISTRY: dict[str, Callable[..., Case]] = {}
DESCRIPTIONS: dict[str, str] = {}
TARGETS: dict[str, tuple[str, float | None]] = {}   # name -> (kind, target speedup)
KINDS = ("peer", "training", "context")
MODULES = ["benchmarks.bench_theory", "benchmarks.bench_regression", "benchmarks.bench_nets", "benchmarks.bench_peers",
           "benchmarks.bench_train", "benchmarks.bench_precision"]  # each registers its entries on import


def register(name: str, description: str, kind: str = "context", target: float | None = None):
    """Decorator: register a function ``build(small: bool = False) -> Case`` (small: a CI-sized instance);
    ``kind`` groups the entry in the tables, ``target`` is the speedup it should reach."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")

    def deco(fn):
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = fn
        DESCRIPTIONS[name] = description
        TARGETS[name] = (kind, target)
        return fn
    return deco


def load_all() -> None:
    import importlib
    for mod in MODULES:
        importlib.import_module(mod)


def median_time(fn: Callable[[], object], samples: int = 5) -> float:
    """Median seconds of one call of ``fn`` over ``samples`` calls, after one warm-up call (for minute-free
    measurements that need no loop calibration: GEMM rates, profiles, training steps)."""
    fn()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_call(fn: Callable[[], object], repeats: int = 5, min_time: float = 0.2) -> Timing:
    """Median and IQR of the per-call time of ``fn`` (warm-up first; loops so each sample >= min_time)."""
    fn()  # warm-up (caches, lazy imports, allocator)
    calls, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        t = time.perf_counter() - t0
        if t >= min_time or calls >= 1 << 20:
            break
        calls *= 2 if t == 0 else max(2, min(10, int(min_time / t) + 1))
    samples = [t / calls]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls)
    q25, med, q75 = np.percentile(samples, [25, 50, 75])
    return Timing(float(med), float(q25), float(q75), calls)


def _max_rel_diff(a, b) -> float:
    a = np.asarray(a.detach().cpu() if hasattr(a, "detach") else a)
    b = np.asarray(b.detach().cpu() if hasattr(b, "detach") else b)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), np.finfo(float).tiny))


def run_one(name: str, repeats: int = 5, min_time: float = 0.2, small: bool = False) -> Result:
    case = REGISTRY[name](small=small)
    reps = case.repeats or repeats
    if case.repeats == 1:  # minute-long calls: one timed call each, no warm-up loop
        t0 = time.perf_counter()
        out_c = case.candidate()
        cand = Timing(time.perf_counter() - t0, 0, 0, 1)
        t0 = time.perf_counter()
        out_b = case.baseline()
        base = Timing(time.perf_counter() - t0, 0, 0, 1)
        cand.q25_s = cand.q75_s = cand.median_s
        base.q25_s = base.q75_s = base.median_s
    elif case.slow_baseline:
        out_c = case.candidate()
        cand = time_call(case.candidate, reps, min_time)
        out_b = case.baseline()          # warm-up (lazy init, allocator, caches): its output is the one checked
        t0 = time.perf_counter()
        case.baseline()
        base = Timing(time.perf_counter() - t0, 0, 0, 1)
        base.q25_s = base.q75_s = base.median_s
    else:
        out_c, out_b = case.candidate(), case.baseline()
    diff = (case.agreement or _max_rel_diff)(out_c, out_b)
    if not diff <= case.rtol:
        raise RuntimeError(f"benchmark {name}: candidate and baseline disagree ({diff:.2e} > "
                           f"{case.rtol:.0e}); refusing to report a speed for a wrong answer")
    if case.repeats != 1 and not case.slow_baseline:
        cand = time_call(case.candidate, reps, min_time)
        base = time_call(case.baseline, reps, min_time)
    extra = dict(case.extra or {})
    if "useful_flop" in extra:   # rates of both sides, and the candidate's share of the machine's GEMM rate
        extra["candidate_flop_per_s"] = extra["useful_flop"] / cand.median_s
        extra["baseline_flop_per_s"] = extra["useful_flop"] / base.median_s
        if extra.get("gemm_flop_per_s"):
            extra["candidate_share_of_gemm"] = extra["candidate_flop_per_s"] / extra["gemm_flop_per_s"]
    if "bmm_s" in extra and "fft_s" in extra:   # the candidate's time not spent in its products or FFTs
        extra["rest_s"] = cand.median_s - extra["bmm_s"] - extra["fft_s"]
    return Result(name, case.workload, case.candidate_name, case.baseline_name, cand, base,
                  base.median_s / cand.median_s, diff, extra or None, *TARGETS.get(name, ("context", None)))


def gemm_rates(n: int = 4096, samples: int = 3) -> dict:
    """This machine's float32 GEMM rate (FLOP/s, ``2 n^3`` per ``n x n`` product) at the current thread counts:
    numpy (its BLAS, e.g. OpenBLAS) and torch (its BLAS, e.g. MKL), each the median of ``samples`` products after
    one warm-up; ``best`` is the larger, the rate benchmarks compare against."""
    rates = {}
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    libs = [("numpy", lambda: a @ a)]
    try:
        import torch
        t = torch.from_numpy(a)
        libs.append(("torch", lambda: t @ t))
    except ImportError:
        pass
    for name, fn in libs:
        rates[name] = 2 * n ** 3 / median_time(fn, samples)
    return {"n": n, "samples": samples, **rates, "best": max(rates.values())}


_GEMM: dict = {}


def run_gemm(small: bool = False) -> dict:
    """:func:`gemm_rates` measured once per run (4096, 3 samples; 512 for ``--small``) and reused by every entry."""
    if small not in _GEMM:
        _GEMM[small] = gemm_rates(512, 2) if small else gemm_rates()
    return _GEMM[small]


def blas_info() -> dict:
    """The BLAS/OpenMP libraries loaded (threadpoolctl: library, version, kernel architecture, threads) and the
    environment variables that steer them (``OPENBLAS_*``, ``MKL_*``, ``OMP_*``)."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "MKL_", "OMP_", "GOTO"))}
    try:
        from threadpoolctl import threadpool_info
        libs = [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "prefix")}
                for i in threadpool_info()]
    except ImportError:
        libs = []
    try:
        import torch
        torch_blas = "mkl" if torch.backends.mkl.is_available() else "other"
        cpu = torch.backends.cpu.get_cpu_capability()
    except ImportError:
        torch_blas = cpu = None
    return {"env": env, "libraries": libs, "torch_blas": torch_blas, "cpu_capability": cpu}


def machine() -> dict:
    """Cores, library versions, BLAS kernels and device, printed with every table and saved in the JSON."""
    info = {"cpu_count": os.cpu_count(), "numpy": np.__version__, "blas": blas_info()}
    try:
        import torch
        from nets.runtime import STATE
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads(), allocator=STATE["allocator"],
                    device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
    except ImportError:
        info.update(torch=None, device="cpu")
    return info


def format_table(results: list[Result]) -> str:
    head = ("benchmark", "workload", "candidate", "baseline", "cand. median", "base. median", "speedup")
    fmt = lambda t: f"{t.median_s * 1e3:.3g} ms [{t.q25_s * 1e3:.3g}-{t.q75_s * 1e3:.3g}]"  # noqa: E731
    rows = [(r.name, r.workload, r.candidate_name, r.baseline_name, fmt(r.candidate), fmt(r.baseline),
             f"{r.speedup:.2f}x") for r in results]
    return text_table(head, rows)


def to_json(results: list[Result], config: dict, gemm: dict | None = None) -> dict:
    from infra.io import provenance
    return {"config": config, "machine": {**machine(), "gemm": gemm}, "provenance": provenance(),
            "results": [asdict(r) for r in results]}
