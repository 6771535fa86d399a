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


def postprocess(r: np.ndarray, g: np.ndarray, neighbours: int = 3) -> np.ndarray:
    """The paper's plotting transform (Fig. 3a): divide by the integral, take logs, then average each point
    with ``neighbours`` points on either side (fewer at the ends)."""
    p = np.log(np.asarray(g, float) / np.trapezoid(g, r))
    c = np.concatenate([[0.0], np.cumsum(p)])
    idx = np.arange(len(p))
    lo, hi = np.maximum(idx - neighbours, 0), np.minimum(idx + neighbours + 1, len(p))
    return (c[hi] - c[lo]) / (hi - lo)


def summarise(S: np.ndarray, n_images: int) -> dict:
    """Moments 1 and 2 (eq. 5.1) and the radial curve of a map ``S``, as saved with every run."""
    r, g = radial_curve(S)
    return {"n_images": n_images, "moment1": moment(r, g, 1), "moment2": moment(r, g, 2), "radial_r": r.tolist(),
            "radial": g.tolist()}
