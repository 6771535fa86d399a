"""Radial curves and moments (eq. 5.1) of any per-frequency map: the summaries every measure's output uses."""
from __future__ import annotations

import numpy as np

from theory.spectra import radial_average


def radial_curve(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average of ``S (C, H, W)`` (or ``(H, W)``) over all (c, i, j) at each exact radius
    ``sqrt(ki^2 + kj^2)`` of the signed frequency grid (DC at r = 0; appendix C.2). Returns ``(r, g)``."""
    r, prof = radial_average(S)
    return r, prof.mean(axis=0) if prof.ndim == 2 else prof


def moment(r: np.ndarray, g: np.ndarray, k: int) -> float:
    """eq. 5.1 on the raw curve: ``int r^k g(r) dr / int g(r) dr`` (trapezoid rule on the exact radii)."""
    r, g = np.asarray(r, float), np.asarray(g, float)
    if r.shape != g.shape or r.ndim != 1 or len(r) < 2:
        raise ValueError(f"r, g: expected two 1-D arrays of the same length >= 2, got {r.shape}, {g.shape}")
    den = np.trapezoid(g, r)
    if den <= 0:
        raise ValueError("g: expected a non-negative curve with positive integral")
    return float(np.trapezoid(r ** k * g, r) / den)


def moment_without_dc(r: np.ndarray, g: np.ndarray, k: int) -> float:
    """eq. 5.1 over ``r > 0`` only: the moment with the DC term (r = 0) left out. A map that is a bright
    DC pixel over a flat floor has a small eq. 5.1 moment but the flat map's DC-free one."""
    r, g = np.asarray(r, float), np.asarray(g, float)
    keep = r > 0
    return moment(r[keep], g[keep], k)


def midband_slope(r: np.ndarray, g: np.ndarray, lo: float = 2.0, hi: float | None = None) -> float:
    """Least-squares slope of ``log g`` against ``log r`` for ``lo <= r <= hi`` (default ``hi``: the largest
    radius over sqrt 2, i.e. N/2 = 16 on a 32x32 grid): the power-law exponent of the radial curve away from
    DC and the corners. tau of natural images has slope about -2 (the amplitude exponent is half of it).
    NaN when fewer than 2 radii with positive ``g`` lie in the band (grids smaller than 6 x 6 have no band)."""
    r, g = np.asarray(r, float), np.asarray(g, float)
    hi = r.max() / np.sqrt(2) if hi is None else hi
    keep = (r >= lo) & (r <= hi) & (g > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(r[keep]), np.log(g[keep]), 1)[0])


def dc_robust(r: np.ndarray, g: np.ndarray) -> dict:
    """The DC-robust summaries of a radial curve: moments 1 and 2 without r = 0 and the mid-band slope."""
    return {"moment1_nodc": moment_without_dc(r, g, 1), "moment2_nodc": moment_without_dc(r, g, 2),
            "midband_slope": midband_slope(r, g)}


def postprocess(r: np.ndarray, g: np.ndarray, neighbours: int = 3) -> np.ndarray:
    """The paper's plotting transform (Fig. 3a): divide by the integral, take logs, then average each point
    with ``neighbours`` points on either side (fewer at the ends)."""
    p = np.log(np.asarray(g, float) / np.trapezoid(g, r))
    c = np.concatenate([[0.0], np.cumsum(p)])
    idx = np.arange(len(p))
    lo, hi = np.maximum(idx - neighbours, 0), np.minimum(idx + neighbours + 1, len(p))
    return (c[hi] - c[lo]) / (hi - lo)


def released_radial_curve(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The paper's released radial curve (``radial_pushforward``, as read in DESIGN.md), for comparison only.

    ``S (C, H, W)`` (or ``(H, W)``) in FFT order -> ``(r, q)``: after fftshift, pixel (a, b) sits at
    ``x_a = linspace(-H/2, H/2, H)[a]``, ``y_b = linspace(-W/2, W/2, W)[b]`` (step N/(N-1), no point at 0),
    ``r = sqrt(x^2 + y^2)``; every distinct float radius is its own bin (177 bins at 32 x 32; DC shares
    r ~ 0.73 with three neighbours); ``q`` = sum over the bin's pixels *and channels* / its pixel count."""
    S = np.asarray(S, float)
    S = S[None] if S.ndim == 2 else S
    H, W = S.shape[-2:]
    x, y = np.linspace(-H / 2, H / 2, H), np.linspace(-W / 2, W / 2, W)
    r = np.sqrt(x[:, None] ** 2 + y[None, :] ** 2).ravel()
    summed = np.fft.fftshift(S, axes=(-2, -1)).sum(axis=0).ravel()     # channels summed, not averaged
    keys, inv, counts = np.unique(r, return_inverse=True, return_counts=True)
    return keys, np.bincount(inv, weights=summed) / counts


def released_moment(S: np.ndarray, k: int = 1) -> float:
    """The released code's ``moments``: ``sum r^k q / sum q`` over the bins of :func:`released_radial_curve`
    (per-bin means, not weighted by pixel counts, DC included, r in its grid units). Eq. 5.1 under the
    published convention, next to freqsens's :func:`moment` (trapezoid over exact radii, DC at r = 0)."""
    r, q = released_radial_curve(S)
    if not q.sum() > 0:
        raise ValueError("S: expected a non-negative map with a positive sum")
    return float((r ** k * q).sum() / q.sum())


def summarise(S: np.ndarray, n_images: int) -> dict:
    """Moments 1 and 2 (eq. 5.1), the DC-robust summaries (:func:`dc_robust`), the first moment under the
    released code's convention (:func:`released_moment`) and the radial curve of a map ``S (C, H, W)``, as
    saved with every run."""
    r, g = radial_curve(S)
    return {"n_images": n_images, "moment1": moment(r, g, 1), "moment2": moment(r, g, 2), **dc_robust(r, g),
            "moment1_released": released_moment(S, 1),
            "radial_r": r.tolist(),
            "radial": g.tolist()}
