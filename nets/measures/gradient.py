"""Frequency sensitivity of a classifier (appendix C.2, Figs. 2-5): ``S_cij = E_x || (<grad_x f_k(x), e_cij>)_k ||_2``.

``e_cij`` is the unitary Fourier basis, so ``<g, e_cij> = dft2(g)_cij`` (``theory.dft``): a batch costs K
backward passes (one per output, each giving every image's input gradient at once, as the model treats
images independently in eval mode) and one FFT, never one pass per basis vector or per image. Reported:
the mean over all images and its standard error. The loss-gradient variant uses ``grad_x loss(f(x), y)``
instead (no K axis). Units: per unit of the model's input (here the normalised image).
"""
from __future__ import annotations

import sys

import torch

from nets.measures.base import Map, RunningMean, check_images
from theory.dft import dft2


def frequency_sensitivity(model, x: torch.Tensor, batch_size: int = 256, loss_grad: bool = False,
                          y: torch.Tensor | None = None, progress: bool = False) -> Map:
    """Mean and standard error over the images ``x: (N, C, H, W)`` of ``|| (<grad f_k, e_cij>)_k ||_2``
    (appendix C.2); returns a :class:`Map` with ``mean, se: (C, H, W)`` in FFT order.

    loss_grad=True: ``|<grad_x CE(f(x), y), e_cij>|`` instead (needs labels ``y``). The model is put in eval
    mode (BatchNorm statistics fixed), so each image's gradient depends on that image only.
    """
    check_images(x)
    if loss_grad and y is None:
        raise ValueError("y: the loss-gradient variant needs labels")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    model.eval()
    acc = RunningMean()
    rng = range(0, len(x), batch_size)
    if progress:
        from tqdm import tqdm
        rng = tqdm(rng, desc="sensitivity", unit="batch", file=sys.stderr, disable=not sys.stderr.isatty())
    for s in rng:
        xb = x[s:s + batch_size].detach().clone().requires_grad_(True)
        out = model(xb)
        if loss_grad:
            (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(out, y[s:s + batch_size], reduction="sum"), xb)
            mag = dft2(g).abs()                                               # (B, C, H, W)
        else:
            K = out.shape[1]
            grads = [torch.autograd.grad(out[:, k].sum(), xb, retain_graph=k < K - 1)[0] for k in range(K)]
            mag = dft2(torch.stack(grads)).abs().pow(2).sum(0).sqrt()          # norm over the K outputs
        acc.update(mag)
    return acc.result(measure="loss_gradient" if loss_grad else "gradient", units="per normalised input unit")


def loss_gradient_sensitivity(model, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256,
                              progress: bool = False) -> Map:
    """``E_x |<grad_x CE(f(x), y), e_cij>|``: :func:`frequency_sensitivity` with ``loss_grad=True``."""
    return frequency_sensitivity(model, x, batch_size, True, y, progress)
