"""Benchmarks against the peers a user would pick instead (issue 14), registered on import.

* ridge from ``x_hat``: freqsens (the real Fourier design gathered from x_hat, float32 Gram refined to the
  float64 answer) vs scikit-learn's ``Ridge(solver="cholesky")`` on the pixels (+ the DFTs both ways). eq. 4.15's
  ``(1/N)|y - X v|^2 + lam |v|^2`` is scikit-learn's ``|y - X w|^2 + alpha |w|^2`` with ``alpha = N lam``.
* the LASSO of eq. A.1: freqsens' working sets vs skglm's and celer's ``GroupLasso`` on the real design.
* sensitivity maps: the batched VJPs of ``frequency_sensitivity`` vs ``torch.func.jacrev`` of the batch sum
  (the two-line torch.func way: the Jacobian of ``sum_n f(x_n)`` holds every image's gradients).
* the FFT layer vs the ten-line ``rfft2`` + ``einsum`` + ``irfft2`` with autograd, with the useful FLOP
  rate next to this machine's measured float32 GEMM rate.

A peer that is not installed (the ``bench`` extra: scikit-learn, skglm, celer) makes its entry say so and skip; nothing
is ever timed against a stand-in.
"""
from __future__ import annotations

import functools
import importlib
import time

import numpy as np
import torch

from benchmarks.harness import Case, Skip, register
from theory.dft import dft2, idft2

LAM = 1e-3


def _need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise Skip(f"{module} is not installed (pip install -e '.[bench]')") from None


@functools.lru_cache(maxsize=2)
def _patches(n: int, size: int):
    from nets.data import load_dataset
    data = load_dataset(f"embedded?n_train={n}&n_val=100&n_test=100")
    x = data.normalised("train")[:n, :, :size, :size].astype(np.float64)
    y = (data.y_train[:n] == 0).astype(float)
    return dft2(x), y - y.mean()


def _ridge_sklearn_case(small: bool) -> Case:
    lm = _need("sklearn.linear_model")
    from theory.regression import ridge
    N, size = (400, 8) if small else (20_000, 32)
    x_hat, y = _patches(N, size)
    C, H, W = x_hat.shape[1:]

    def peer():
        X = np.ascontiguousarray(idft2(x_hat).real.reshape(N, -1))
        coef = lm.Ridge(alpha=N * LAM, solver="cholesky", fit_intercept=False).fit(X, y).coef_
        return dft2(coef.reshape(1, C, H, W))

    return Case(f"ridge from x_hat, {N} embedded patches x {C * H * W} DFT features, lam={LAM}",
                lambda: ridge(x_hat, y, LAM), peer, "freqsens ridge (real Fourier design, float32 Gram + float64 refinement)",
                "scikit-learn Ridge(solver='cholesky') + DFTs", rtol=1e-8, repeats=3)


register("ridge-vs-sklearn", "ridge on 20,000 x 3072 embedded DFT patches: freqsens vs scikit-learn's Cholesky "
         "ridge (target: ratio >= 1)")(_ridge_sklearn_case)


def jacrev_sensitivity(model, x) -> np.ndarray:
    """The two-line torch.func way: J = jacrev of the batch sum, ``(K, N, C, H, W)``; its DFT; norm over K; mean."""
    J = torch.func.jacrev(lambda xb: model(xb).sum(0))(x)
    return dft2(J.detach()).abs().pow(2).sum(0).sqrt().mean(0).double().numpy()


def _jacrev_case(model_name: str, small: bool) -> Case:
    from benchmarks.bench_nets import _model
    from nets.measures import frequency_sensitivity
    model, shape = _model(model_name, small)
    n = 2 if small else 64
    x = torch.randn((n,) + shape)
    return Case(f"{model_name}, {n} images {shape}", lambda: frequency_sensitivity(model, x, batch_size=64).mean,
                lambda: jacrev_sensitivity(model, x), "frequency_sensitivity (batched VJPs + FFT)",
                "torch.func.jacrev of the batch sum + FFT", rtol=1e-4)


for _m in ("myrtle", "convactually"):
    register(f"sensitivity-{_m}-vs-jacrev", f"sensitivity map of {_m}, 64 images: freqsens vs jacrev of the batch "
             f"sum (target: ratio >= 1)")(lambda small=False, _m=_m: _jacrev_case(_m, small))


def ten_line_conv(x, weight, bias, shift):
    """The ten-line FFT layer: circular cross-correlation with a full-size kernel (nn.Conv2d 'same' circular)."""
    H, W = x.shape[-2:]
    w = torch.roll(weight, shifts=(-shift[0], -shift[1]), dims=(-2, -1))     # w'[u] = w[u + s]
    Yf = torch.einsum("bchw,ochw->bohw", torch.fft.rfft2(x), torch.fft.rfft2(w).conj())
    return torch.fft.irfft2(Yf, s=(H, W)) + bias[:, None, None]


def gemm_rate(n: int = 1024, seconds: float = 0.5) -> float:
    """This machine's float32 GEMM rate (FLOP/s) at the current thread count: 2 n^3 per n x n product."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        calls += 1
    return 2 * n ** 3 * calls / (time.perf_counter() - t0)


def _fft_layer_case(small: bool) -> Case:
    from nets.models.layers import FFTCircularConv2d, same_padding_shift
    B, C, H = (4, 8, 8) if small else (128, 64, 32)
    torch.manual_seed(0)
    layer = FFTCircularConv2d(C, C, (H, H))
    w = layer.weight.detach().clone().requires_grad_(True)
    b = layer.bias.detach().clone().requires_grad_(True)
    s = (same_padding_shift(H), same_padding_shift(H))
    x = torch.randn(B, C, H, H, requires_grad=True)

    def step(f, params):
        def run():
            for p in params + [x]:
                p.grad = None
            out = f()
            out.sum().backward()
            return out.detach()
        return run

    # useful work: the per-frequency channel mixing, 4 real multiply-adds per complex MAC, forward and the two
    # backward products (input and weight gradients)
    flops = 3 * 8 * B * C * C * H * (H // 2 + 1)
    rate = gemm_rate(512 if small else 1024, 0.1 if small else 0.5)
    return Case(f"forward+backward, batch {B}, {C}->{C}, {H}x{H}", step(lambda: layer(x), list(layer.parameters())),
                step(lambda: ten_line_conv(x, w, b, s), [w, b]), "FFTCircularConv2d",
                "ten-line rfft2 + einsum + irfft2", rtol=1e-4,
                extra={"useful_flop": flops, "gemm_flop_per_s": rate})


register("fft-layer-vs-ten-line", "full-size circular conv layer: FFTCircularConv2d vs the ten-line FFT version "
         "(targets: >= 2x, and >= 25% of the measured GEMM rate)")(_fft_layer_case)


def real_fourier_groups(shape: tuple[int, int, int]) -> tuple[list[list[int]], np.ndarray]:
    """The groups (column lists) and weights of eq. A.1 in the real Fourier basis (``theory.real_basis``):
    ``(1/N)|y - Z beta|^2 + 2 lam sum_g weights_g |beta_g|``, twice the objective of scikit-learn-style
    group lassos ``(1/2N)|y - Z beta|^2 + alpha sum_g w_g |beta_g|`` at ``alpha = lam``."""
    from theory.real_basis import real_fourier_columns
    group, weights = real_fourier_columns(shape)[4:]
    return [list(np.nonzero(group == g)[0]) for g in range(len(weights))], weights


def _group_lasso_case(peer: str, small: bool) -> Case:
    module = _need({"skglm": "skglm", "celer": "celer"}[peer])
    from theory.real_basis import real_fourier_basis, real_fourier_design
    from theory.regression import design, objective, solve_cd
    N, size = (300, 6) if small else (5000, 32)
    x_hat, y = _patches(N, size)
    shape = x_hat.shape[1:]
    Q = real_fourier_basis(shape)[0]            # only to map the peer's answer back (outside the timing)
    solve_cd(d=design(*_patches(300, 6)), lam=LAM, penalty="lasso")   # compile the numba kernel first
    d_eval = design(x_hat, y)

    def candidate():
        return solve_cd(x_hat=x_hat, y=y, lam=LAM, penalty="lasso").objective

    def baseline():
        Z, (groups, weights) = real_fourier_design(x_hat), real_fourier_groups(shape)
        model = module.GroupLasso(groups=groups, alpha=LAM, weights=weights, tol=1e-8, fit_intercept=False,
                                  max_iter=1000)
        beta = model.fit(Z, y).coef_
        return objective(d_eval, dft2((Q @ beta).reshape((1,) + shape)), LAM, "lasso")

    return Case(f"LASSO (modulus of each complex coefficient, eq. A.1), {N} x {int(np.prod(shape))}, lam={LAM}, "
                f"end to end from x_hat", candidate, baseline, "freqsens solve_cd (working sets)",
                f"{peer} GroupLasso (tol 1e-8) on the real Fourier design", rtol=1e-6, repeats=3,
                agreement=lambda a, b: max(0.0, (a - b) / abs(b)))


for _p in ("skglm", "celer"):
    register(f"group-lasso-vs-{_p}", f"LASSO of eq. A.1 on 5000 x 3072 embedded DFT patches: freqsens vs {_p} "
             f"GroupLasso at equal objective (target: ratio >= 1)")(lambda small=False, _p=_p: _group_lasso_case(_p, small))
