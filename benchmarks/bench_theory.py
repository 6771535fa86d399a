"""Benchmarks of the theory core (registered on import)."""
from __future__ import annotations

import numpy as np

from benchmarks.harness import Case, register
from theory import dft
from theory.schatten import schatten_norm


@register("schatten-batched", "Schatten 2/3-norm of all 1024 frequency blocks (10x3) of a 32x32 image: "
          "one batched call vs a per-block Python loop")
def schatten_batched(small: bool = False) -> Case:
    rng = np.random.default_rng(0)
    blocks = rng.standard_normal((32, 32, 10, 3)) + 1j * rng.standard_normal((32, 32, 10, 3))
    p = 2 / 3

    def loop():
        out = np.empty(blocks.shape[:2])
        for i in range(blocks.shape[0]):
            for j in range(blocks.shape[1]):
                s = np.linalg.svd(blocks[i, j], compute_uv=False)
                out[i, j] = np.sum(s ** p) ** (1 / p)
        return out

    return Case("1024 blocks of 10x3 complex, p = 2/3", lambda: schatten_norm(blocks, p), loop,
                "schatten_norm (batched)", "per-block np.linalg.svd loop", rtol=1e-10)


@register("conv-fft", "eq. 3.2 circular convolution, full 16x16 kernels, 8 images, 3->8 channels: "
          "exact convolution theorem (FFT) vs direct pixel-space sum")
def conv_fft(small: bool = False) -> Case:
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((8, 3, 16, 16)), rng.standard_normal((8, 3, 16, 16))
    return Case("w (8,3,16,16), x (8,3,16,16)", lambda: dft.circular_conv(w, x),
                lambda: dft.circular_conv(w, x, method="direct"), "circular_conv fft", "circular_conv direct",
                rtol=1e-10)


@register("conjecture-batched", "Conjecture 4.13 search: ratio + 3-link certificate for a batch of samples, "
          "batched vs a per-sample Python loop (target >= 10x)", target=10)
def conjecture_batched(small: bool = False) -> Case:
    from theory import conjecture_search as cs
    from theory.holder import certify, r_from
    rng = np.random.default_rng(0)
    S = 64 if small else 2048
    ps = cs.exponents("random", 4, rng)
    factors = cs.sample("gaussian_complex", ps, [4, 3, 5, 4, 3], S, rng)
    r = r_from(ps)

    def loop():
        return np.concatenate([certify([A[i:i + 1] for A in factors], ps, r).log_ratio for i in range(S)])

    return Case(f"{S} samples, L = 4, dims 4-3-5-4-3, complex", lambda: certify(factors, ps, r).log_ratio, loop,
                "certify (batched)", "certify per sample", rtol=1e-10)
