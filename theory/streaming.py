"""Streaming mean and centred sum of squares (Chan, Golub & LeVeque 1979): one update rule for the
Fourier statistics of a dataset (``theory.spectra.FourierStats``, Fig. 1) and for the per-image means of
every sensitivity measure (``nets.measures``). Works on numpy arrays and torch tensors alike."""
from __future__ import annotations


def chan_update(n: int, mean, m2, nb: int, mean_b, m2_b, cross=None):
    """Combine the running ``(n, mean, m2)`` with a batch's ``(nb, mean_b, m2_b)``; returns the new triple.

    ``m2`` is the centred sum of squares ``sum |x - mean|^2`` (elementwise), exact for any batch split: no
    ``E[x^2] - E[x]^2`` cancellation. ``cross(d)`` is the outer term of the mean difference ``d``
    (default ``|d|^2`` elementwise; pass ``lambda d: np.outer(d, d)`` for a covariance matrix).
    """
    if n == 0:
        return nb, mean_b, m2_b
    tot = n + nb
    d = mean_b - mean
    c = cross(d) if cross is not None else abs(d) ** 2
    return tot, mean + d * nb / tot, m2 + m2_b + c * n * nb / tot
