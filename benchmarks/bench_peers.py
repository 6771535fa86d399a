"""Benchmarks against the peers a user would pick instead (issue 14), registered on import.

* ridge from pixels, what a user holds, on both sides: freqsens ``ridge_pixels`` (float32 Gram refined to the
  float64 answer, then one DFT of the filter) vs scikit-learn's ``Ridge(solver="cholesky", copy_X=False)`` on
  the same float64 pixel matrix, plus the same DFT of its filter. eq. 4.15's ``(1/N)|y - X v|^2 + lam |v|^2``
  is scikit-learn's ``|y - X w|^2 + alpha |w|^2`` with ``alpha = N lam`` (Parseval: the same v).
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

import numpy as np
import torch

from benchmarks.harness import Case, Skip, median_time, register, run_gemm
from theory.dft import dft2

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
    x = np.ascontiguousarray(data.normalised("train")[:n, :, :size, :size], dtype=np.float64)
    y = (data.y_train[:n] == 0).astype(float)
    return x, y - y.mean()


def _ridge_sklearn_case(small: bool) -> Case:
    lm = _need("sklearn.linear_model")
    from theory.regression import ridge_pixels
    N, size = (400, 8) if small else (20_000, 32)
    x, y = _patches(N, size)                    # float64 pixels, C order: what both sides start from
    C, H, W = x.shape[1:]

    def peer():
        model = lm.Ridge(alpha=N * LAM, solver="cholesky", fit_intercept=False, copy_X=False)
        coef = model.fit(x.reshape(N, -1), y).coef_                 # a view: scikit-learn copies nothing
        return dft2(coef.reshape(1, C, H, W))

    return Case(f"ridge from pixels, {N} embedded patches x {C * H * W} features, lam={LAM}",
                lambda: ridge_pixels(x, y, LAM), peer, "freqsens ridge_pixels (float32 Gram + float64 refinement) + DFT",
                "scikit-learn Ridge(solver='cholesky', copy_X=False) + DFT", rtol=1e-8, repeats=3)


register("ridge-vs-sklearn", "ridge on 20,000 x 3072 embedded patches from pixels: freqsens vs scikit-learn's "
         "Cholesky ridge (target: ratio >= 1)", kind="peer", target=1)(_ridge_sklearn_case)


def jacrev_sensitivity(model, x) -> np.ndarray:
    """The two-line torch.func way: J = jacrev of the batch sum, ``(K, N, C, H, W)``; its DFT; norm over K; mean."""
    J = torch.func.jacrev(lambda xb: model(xb).sum(0))(x)
    return dft2(J.detach()).abs().pow(2).sum(0).sqrt().mean(0).double().numpy()


def batched_vjp_sensitivity(model, x) -> np.ndarray:
    """The autograd way: all K VJPs in one vmapped backward (``is_grads_batched``), parameters frozen as a user
    would (``requires_grad_(False)``, restored after); ``(K, N, C, H, W)`` gradients, their DFT, norm over K, mean."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        xb = x.detach().clone().requires_grad_(True)
        out = model(xb)
        K = out.shape[1]
        eye = torch.eye(K, dtype=out.dtype).unsqueeze(1).expand(K, len(x), K)     # (K, N, K): one-hot rows
        (g,) = torch.autograd.grad(out, xb, grad_outputs=eye, is_grads_batched=True)
    finally:
        for p in params:
            p.requires_grad_(True)
    return dft2(g.detach()).abs().pow(2).sum(0).sqrt().mean(0).double().numpy()


PEERS = {"jacrev": (jacrev_sensitivity, "torch.func.jacrev of the batch sum + FFT"),
         "batched-vjp": (batched_vjp_sensitivity, "autograd.grad(is_grads_batched=True) + FFT")}


def _sensitivity_peer_case(model_name: str, peer: str, small: bool) -> Case:
    from benchmarks.bench_nets import _model
    from nets.measures import frequency_sensitivity
    model, shape = _model(model_name, small)
    n = 2 if small else 64
    x = torch.randn((n,) + shape)
    fn, what = PEERS[peer]
    return Case(f"{model_name}, {n} images {shape}", lambda: frequency_sensitivity(model, x, batch_size=64).mean,
                lambda: fn(model, x), "frequency_sensitivity (K VJPs + FFT)", what, rtol=1e-4)


def _register_sensitivity_peers() -> None:
    from nets.models import model_names
    for m in model_names():
        for peer in PEERS:
            register(f"sensitivity-{m}-vs-{peer}", f"sensitivity map of {m}, 64 images: freqsens vs {PEERS[peer][1]} "
                     f"(target: ratio >= 1)", kind="peer", target=1)(lambda small=False, m=m, peer=peer: _sensitivity_peer_case(m, peer, small))


_register_sensitivity_peers()


def ten_line_conv(x, weight, bias, shift):
    """The ten-line FFT layer: circular cross-correlation with a full-size kernel (nn.Conv2d 'same' circular)."""
    H, W = x.shape[-2:]
    w = torch.roll(weight, shifts=(-shift[0], -shift[1]), dims=(-2, -1))     # w'[u] = w[u + s]
    Yf = torch.einsum("bchw,ochw->bohw", torch.fft.rfft2(x), torch.fft.rfft2(w).conj())
    return torch.fft.irfft2(Yf, s=(H, W)) + bias[:, None, None]


def fft_layer_profile(B: int, C: int, H: int) -> dict:
    """The FFT layer's forward+backward split by kind of work, each part timed alone at the layer's sizes:
    ``bmm_s`` the three per-frequency products (forward, input and weight gradients, the layer's exact calls),
    ``fft_s`` plain ``torch.fft`` calls of the same sizes (rfft2 of x and of the output gradient, irfft2 of the
    output and of the input gradient, the weight's rfft2 and irfft2). The candidate's time minus both is the
    rest: layout copies around the products, the phase and the bias."""
    F, Wf = H * (H // 2 + 1), H // 2 + 1
    X = torch.randn(F, B, C, dtype=torch.complex64)
    K = torch.randn(F, C, C, dtype=torch.complex64)
    x = torch.randn(B, C, H, H)
    z = torch.randn(B, C, H, Wf, dtype=torch.complex64)
    w = torch.randn(C, C, H, H)
    zw = torch.randn(C, C, H, Wf, dtype=torch.complex64)
    bmm = median_time(lambda: (torch.bmm(X, K), torch.bmm(X, K.transpose(1, 2)), torch.bmm(X.transpose(1, 2), X)), 7)
    fft = median_time(lambda: (torch.fft.rfft2(x), torch.fft.rfft2(x), torch.fft.irfft2(z, s=(H, H)),
                                torch.fft.irfft2(z, s=(H, H)), torch.fft.rfft2(w), torch.fft.irfft2(zw, s=(H, H))), 7)
    return {"bmm_s": bmm, "fft_s": fft}


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
    rate = run_gemm(small)["best"]       # the run's SGEMM rate at 4096 (numpy's or torch's BLAS, the faster)
    return Case(f"forward+backward, batch {B}, {C}->{C}, {H}x{H}", step(lambda: layer(x), list(layer.parameters())),
                step(lambda: ten_line_conv(x, w, b, s), [w, b]), "FFTCircularConv2d",
                "ten-line rfft2 + einsum + irfft2", rtol=1e-4,
                extra={"useful_flop": flops, "gemm_flop_per_s": rate, **fft_layer_profile(B, C, H)})


register("fft-layer-vs-ten-line", "full-size circular conv layer: FFTCircularConv2d vs the ten-line FFT version "
         "(targets: >= 2x, and >= 25% of the measured GEMM rate)", kind="peer", target=2)(_fft_layer_case)


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
    x, y = _patches(N, size)
    x_hat = dft2(x)
    shape = x_hat.shape[1:]
    Q = real_fourier_basis(shape)[0]            # only to map the peer's answer back (outside the timing)
    solve_cd(d=design(dft2(_patches(300, 6)[0]), _patches(300, 6)[1]), lam=LAM, penalty="lasso")   # numba compile
    d_eval = design(x_hat, y)
    # the peers get their design prepared outside their timing, in the column-major order their coordinate
    # descent reads (one contiguous column per coefficient): the most favourable start for them
    Z, (groups, weights) = np.asfortranarray(real_fourier_design(x_hat)), real_fourier_groups(shape)

    def candidate():
        return solve_cd(x_hat=x_hat, y=y, lam=LAM, penalty="lasso").objective

    def baseline():
        model = module.GroupLasso(groups=groups, alpha=LAM, weights=weights, tol=1e-8, fit_intercept=False,
                                  max_iter=1000)
        beta = model.fit(Z, y).coef_
        return objective(d_eval, dft2((Q @ beta).reshape((1,) + shape)), LAM, "lasso")

    return Case(f"LASSO (modulus of each complex coefficient, eq. A.1), {N} x {int(np.prod(shape))}, lam={LAM}; "
                f"freqsens from x_hat, the peer from its Fortran-ordered real design (built untimed)", candidate,
                baseline, "freqsens solve_cd (working sets)",
                f"{peer} GroupLasso (tol 1e-8) on the real Fourier design", rtol=1e-6, repeats=3,
                agreement=lambda a, b: max(0.0, (a - b) / abs(b)))


for _p in ("skglm", "celer"):
    register(f"group-lasso-vs-{_p}", f"LASSO of eq. A.1 on 5000 x 3072 embedded DFT patches: freqsens vs {_p} "
             f"GroupLasso at equal objective (target: ratio >= 1)", kind="peer", target=1)(lambda small=False, _p=_p: _group_lasso_case(_p, small))
