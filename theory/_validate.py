"""Input checks shared by the theory modules.

Every public function validates its arguments here, so bad input produces one
``ValueError`` that names the argument and what was expected, instead of a
traceback from deep inside numpy.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np


def as_array(name: str, a: Any, *, ndim_min: int = 0, ndim: int | None = None,
             finite: bool = True, dtype=None) -> np.ndarray:
    """Convert ``a`` to an ndarray and check its rank and finiteness."""
    try:
        arr = np.asarray(a, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected an array of numbers, got {type(a).__name__} ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {arr.shape}")
    if arr.ndim < ndim_min:
        raise ValueError(f"{name}: expected at least {ndim_min} dimensions, got shape {arr.shape}")
    if finite and arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite entries, found NaN or inf")
    return arr


def schatten_exponent(name: str, p: Any, *, allow_inf: bool = True) -> float:
    """A Schatten exponent: a real number p > 0 (or +inf when allowed)."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a real number > 0, got {p!r}") from None
    if math.isnan(p) or p <= 0:
        raise ValueError(f"{name}: expected a real number > 0, got {p!r}")
    if math.isinf(p) and not allow_inf:
        raise ValueError(f"{name}: expected a finite real number > 0, got {p!r}")
    return p


def positive_int(name: str, n: Any, *, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (bools rejected)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {n!r}")
    if n < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {n}")
    return int(n)


def nonnegative(name: str, x: Any) -> float:
    """A finite real number >= 0."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a real number >= 0, got {x!r}") from None
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name}: expected a finite real number >= 0, got {x!r}")
    return x


def regression_data(x_hat, y) -> tuple[np.ndarray, np.ndarray]:
    """``x_hat (N, C, H, W)`` (finiteness left to the caller's one pass over it) and real targets ``y (N,)`` or
    ``(N, K)`` -> ``(x_hat, Y (N, K) float64)``, else one ValueError naming the argument."""
    x_hat = as_array("x_hat", x_hat, ndim=4, finite=False)
    y = as_array("y", y)
    if y.ndim not in (1, 2) or y.shape[0] != x_hat.shape[0]:
        raise ValueError(f"y: expected shape (N,) or (N, K) with N = {x_hat.shape[0]} (rows of x_hat), got {y.shape}")
    if np.iscomplexobj(y):
        raise ValueError("y: expected real targets")
    return x_hat, (y[:, None] if y.ndim == 1 else y).astype(np.float64)
