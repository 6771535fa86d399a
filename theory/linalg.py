"""Small linear-algebra helpers shared by the theory modules and the tests: Haar-random unitaries and
the relative error every check reports."""
from __future__ import annotations

import numpy as np


def haar_unitary(rng: np.random.Generator, n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    """Haar-random ``n x n`` unitaries of shape ``batch + (n, n)``: QR of a complex Gaussian, with the
    phases of R's diagonal moved into Q (without that fix QR's output is not Haar-distributed)."""
    Z = rng.standard_normal((*batch, n, n)) + 1j * rng.standard_normal((*batch, n, n))
    Q, R = np.linalg.qr(Z)
    d = np.diagonal(R, axis1=-2, axis2=-1)
    return Q * (d / np.abs(d))[..., None, :]


def relative_error(a, b) -> float:
    """``max |a - b| / max |b|`` elementwise, on b's scale (the smallest positive float when b is 0)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), np.finfo(float).tiny))
