"""What every measure returns (:class:`Map`: mean and standard error over images) and the streaming
accumulator they share (Chan's update from ``theory.streaming``)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from theory.streaming import chan_update


@dataclass
class Map:
    """A per-frequency map of a trained classifier, averaged over images.

    mean, se: same shape (``(C, H, W)`` or ``(H, W)``), FFT order (DC at ``[0, 0]``); se is the standard
    error of the mean over the ``n`` images. ``meta``: what the measure wants recorded (units, epsilon...).
    """
    mean: np.ndarray
    se: np.ndarray
    n: int
    meta: dict = field(default_factory=dict)


class RunningMean:
    """Mean and standard error over images, fed batch by batch ``(B, ...)`` (float64, exact for any split)."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, None, None

    def update(self, values: torch.Tensor) -> None:
        v = values.detach().double().cpu()
        nb = v.shape[0]
        mb = v.mean(0)
        self.n, self.mean, self.m2 = chan_update(self.n, self.mean, self.m2, nb, mb, ((v - mb) ** 2).sum(0))

    def result(self, **meta) -> Map:
        if self.n == 0:
            raise ValueError("images: expected at least one image, got none")
        var = self.m2 / max(self.n - 1, 1)   # unbiased variance over images
        return Map(self.mean.numpy(), (var / self.n).sqrt().numpy(), int(self.n), dict(meta))


def check_images(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """``(N, C, H, W)`` finite float images, else one ValueError naming the argument."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"{name}: expected images (N, C, H, W), got shape {tuple(getattr(x, 'shape', ()))}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name}: expected finite pixels, found NaN or inf")
    return x
