"""The one way a per-frequency map is drawn: log scale, DC at the centre (fftshift), rescaled to [0, 1]."""
from __future__ import annotations

import numpy as np


def spectrum_image(S: np.ndarray) -> np.ndarray:
    """``S (C, H, W)`` FFT order -> an image for ``imshow``: ``(H, W, 3)`` for 3 channels, else ``(H, W)``
    (channel mean); ``log(S)`` shifted so that DC is at the centre, min-max scaled to [0, 1]."""
    img = np.log(np.fft.fftshift(np.asarray(S, float), axes=(-2, -1)) + 1e-30)
    img = (img - img.min()) / max(img.max() - img.min(), 1e-12)
    if img.ndim == 2:
        return img
    return np.moveaxis(img, 0, -1) if img.shape[0] == 3 else img.mean(0)


def fft_extent(H: int, W: int) -> tuple[float, float, float, float]:
    """``imshow`` extent of an fftshift-ed ``(H, W)`` map, so the axes read signed frequencies ``k_j, k_i``
    (``np.fft.fftshift(np.fft.fftfreq(n, 1 / n))``: -(n // 2) .. (n - 1) // 2), pixel centres on integers."""
    return (-(W // 2) - 0.5, (W - 1) // 2 + 0.5, -(H // 2) - 0.5, (H - 1) // 2 + 0.5)


def use_agg():
    """matplotlib with the file-only backend (no display here or on clusters); returns pyplot."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
