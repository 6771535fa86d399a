"""Fourier heat maps (Yin et al. 2019): test error under a perturbation along each Fourier basis vector.

For frequency k the perturbation is the real unit-norm image ``v_k = (e_k + e_{-k}) / |e_k + e_{-k}|``
(``e_k`` the unitary basis, so ``v_k`` is a cosine grating) on every channel, scaled by ``epsilon`` and a
random sign per image: ``x + s * epsilon * v_k``. The map is the error rate per frequency (FFT order,
conjugate frequencies share a value); the gradient sensitivity of ``nets.sensitivity`` is its first-order
counterpart.
"""
from __future__ import annotations

import numpy as np
import torch

from nets.measures.base import Map, check_images
from theory.dft import conjugate_indices, idft2


def fourier_heat_map(model, x: torch.Tensor, y: torch.Tensor, epsilon: float = 4.0, seed: int = 0,
                     batch_size: int = 500) -> Map:
    """Error rate of ``model`` on ``x + s epsilon v_k`` for every frequency k (x: normalised images
    ``(N, C, H, W)``, y: labels ``(N,)``); returns a :class:`Map` with ``mean, se: (H, W)`` (FFT order;
    se is the binomial standard error ``sqrt(p (1 - p) / N)``)."""
    check_images(x)
    if not (isinstance(epsilon, (int, float)) and np.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon: expected a finite number >= 0, got {epsilon!r}")
    model.eval()
    C, H, W = x.shape[1:]
    I, J = conjugate_indices(H, W)
    flat = np.arange(H * W).reshape(H, W)
    rng = np.random.default_rng(seed)
    sign = torch.tensor(rng.choice([-1.0, 1.0], len(x)), dtype=x.dtype)[:, None, None, None]
    err = np.full((H, W), np.nan)
    with torch.no_grad():
        for i in range(H):
            for j in range(W):
                if flat[i, j] > flat[I[i, 0], J[0, j]]:
                    continue   # the conjugate frequency gives the same real grating
                unit = np.zeros((H, W), complex)
                unit[i, j] += 1
                unit[I[i, 0], J[0, j]] += 1
                v = idft2(unit).real
                v = torch.tensor(v / np.linalg.norm(v) / np.sqrt(C), dtype=x.dtype)  # unit norm over C x H x W
                wrong = 0
                for s in range(0, len(x), batch_size):
                    out = model(x[s:s + batch_size] + epsilon * sign[s:s + batch_size] * v)
                    wrong += int((out.argmax(1) != y[s:s + batch_size]).sum())
                err[i, j] = err[I[i, 0], J[0, j]] = wrong / len(x)
    return Map(err, np.sqrt(err * (1 - err) / len(x)), len(x),
               {"measure": "heatmap", "epsilon": epsilon, "space": "normalised input, no clipping"})
