"""Frequency sensitivity of a classifier (appendix C.2, Figs. 2-5): ``S_cij = E_x || (<grad_x f_k(x), e_cij>)_k ||_2``.

``e_cij`` is the unitary Fourier basis, so ``<g, e_cij> = dft2(g)_cij`` (``theory.dft``): a batch costs K
backward passes (one per output, each giving every image's input gradient at once, as the model treats
images independently in eval mode) and one FFT, never one pass per basis vector or per image. Reported:
the mean over all images and its standard error.

Units: per unit of whatever the model takes. With ``normalise=(mean, std)`` the images are given in pixel
units and the measure normalises them itself, so the map is per unit of pixel intensity (the paper's
convention: its released code differentiates with respect to [0, 1] pixels); without it, per unit of the
model's input. The two differ by ``1 / std_c`` per channel.

Many classes: :func:`probe_sensitivity` estimates the same map from m random probes ``u`` (one backward
pass of ``u^T f`` each gives ``u^T J e_cij`` for every frequency at once), exactly when m >= K.
"""
from __future__ import annotations

import sys

import torch

from nets.measures.base import Map, RunningMean, input_gradients_only, iter_batches, keeps_mode, prepare
from theory.dft import dft2

KCHUNK = 64   # output gradients stacked at a time (K = 1000 at 224x224 would otherwise need ~25 GB)


def _progress(it, desc: str, progress: bool):
    if not progress:
        return it
    from tqdm import tqdm
    return tqdm(it, desc=desc, unit="batch", file=sys.stderr, disable=not sys.stderr.isatty())


@keeps_mode
def frequency_sensitivity(model, x, y=None, *, batch_size: int = 256, loss_grad: bool = False,
                          progress: bool = False, normalise=None, device=None) -> Map:
    """Mean and standard error over images of ``|| (<grad f_k, e_cij>)_k ||_2`` (appendix C.2); returns a
    :class:`Map` with ``mean, se: (C, H, W)`` in FFT order, any ``H x W``.

    x: a tensor or array ``(N, C, H, W)`` (labels ``y (N,)``), or an iterable of ``x`` / ``(x, y)`` batches
    (a ``DataLoader``). loss_grad=True: ``|<grad_x CE(f(x), y), e_cij>|`` instead (needs labels). The
    model is put in eval mode (BatchNorm statistics fixed), so each image's gradient depends on it alone.
    """
    model, device = prepare(model, normalise, device)
    acc = RunningMean()
    with input_gradients_only(model):   # only input gradients are wanted
        for xb, yb in _progress(iter_batches(x, y, batch_size, device), "sensitivity", progress):
            xb, out = _logits(model, xb)
            if loss_grad:
                if yb is None:
                    raise ValueError("y: the loss-gradient variant needs labels")
                (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(out, yb, reduction="sum"), xb)
                mag = dft2(g).abs()                                               # (B, C, H, W)
            else:
                mag = _output_gradients_norm(out, xb)                             # norm over the K outputs
            acc.update(mag)
    return acc.result(measure="loss_gradient" if loss_grad else "gradient", units=_units(normalise))


def _output_gradients_norm(out: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
    """``out (B, K)`` of ``xb (B, C, H, W)`` -> ``sqrt(sum_k |dft2(grad_x out[:, k])|^2)``: ``(B, C, H, W)``.

    One backward pass per output, stacked KCHUNK at a time: on CPU a vmapped backward (``is_grads_batched``,
    ``torch.func.vjp`` + ``vmap``) measured slower than this loop; ``benchmarks`` compares it with ``jacrev``.
    Callers hold :func:`input_gradients_only`, so no pass computes parameter gradients."""
    K = out.shape[1]
    sq = 0
    for k0 in range(0, K, KCHUNK):   # K outputs in chunks: memory ~ KCHUNK gradients, not K
        grads = [torch.autograd.grad(out[:, k].sum(), xb, retain_graph=k < K - 1)[0]
                 for k in range(k0, min(k0 + KCHUNK, K))]
        sq = sq + dft2(torch.stack(grads)).abs().pow(2).sum(0)
    return sq.sqrt()


@keeps_mode
def probe_sensitivity(model, x, y=None, *, probes: int = 32, batch_size: int = 64, seed: int = 0,
                      progress: bool = False, normalise=None, device=None) -> Map:
    """:func:`frequency_sensitivity` estimated from ``probes`` = m random probe directions per image.

    Per image, with ``a_cij = J e_cij`` (K-vector) and ``Q`` a Haar-random ``K x m`` matrix with orthonormal
    columns: ``est_cij = (K / m) sum_j |q_j^T a_cij|^2`` is an unbiased estimate of ``|a_cij|^2`` (its mean
    over Q is ``(K/m) a^T E[Q Q^T] a = |a|^2``), exact when m >= K (Q then spans R^K). Each probe costs one
    backward pass of ``q_j^T f`` (m instead of K passes). The map is the mean over images of
    ``sqrt(est_cij)``; its standard error over images includes the probe noise (each image has its own Q).
    For m < K the square root makes it slightly low (Jensen), by about ``1/(4m)`` relative for spread-out
    Jacobians.
    """
    if isinstance(probes, bool) or not isinstance(probes, int) or probes < 1:
        raise ValueError(f"probes: expected an integer >= 1, got {probes!r}")
    model, device = prepare(model, normalise, device)
    gen = torch.Generator().manual_seed(seed)
    acc = RunningMean()
    with input_gradients_only(model):   # only input gradients are wanted
        for xb, _ in _progress(iter_batches(x, None, batch_size, device), "sensitivity (probes)", progress):
            xb, out = _logits(model, xb)
            B, K = out.shape
            m = min(probes, K)
            if m == K:       # exact: the standard basis (the same passes as the exact method)
                Q = torch.eye(K).expand(B, K, K)
            else:            # per image, m orthonormal directions of R^K (QR of a Gaussian, Haar-distributed)
                Z = torch.randn(B, K, m, generator=gen, dtype=torch.float64)
                Qr, R = torch.linalg.qr(Z)
                Q = (Qr * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)).float()
            Q = Q.to(device=device, dtype=out.dtype)
            est = 0
            for j in range(m):
                (g,) = torch.autograd.grad((out * Q[:, :, j]).sum(), xb, retain_graph=j < m - 1)
                est = est + dft2(g).abs().pow(2)
            acc.update((est * (K / m)).sqrt())
    return acc.result(measure="gradient (probes)", probes=probes, units=_units(normalise))


@keeps_mode
def loss_gradient_sensitivity(model, x, y=None, **options) -> Map:
    """``E_x |<grad_x CE(f(x), y), e_cij>|``: :func:`frequency_sensitivity` with ``loss_grad=True``."""
    return frequency_sensitivity(model, x, y, loss_grad=True, **options)


def _units(normalise) -> str:
    return "per pixel-intensity unit" if normalise is not None else "per unit of the model's input"


def _logits(model, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(xb as a fresh leaf that requires grad, model(xb))``, the logits checked to be ``(B, K)``."""
    xb = xb.detach().clone().requires_grad_(True)
    out = model(xb)
    _check_logits(out, xb)
    return xb, out


def _check_logits(out, xb) -> None:
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != xb.shape[0]:
        raise ValueError(f"model: expected (N, K) logits for N = {xb.shape[0]} images, got "
                         f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
