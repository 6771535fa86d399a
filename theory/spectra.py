"""Image statistics in Fourier space (paper Fig. 1, eq. 4.17, appendix C.1, eq. C.2).

All statistics use the unitary DFT of ``theory.dft``. Inputs are batches ``(N, C, H, W)`` of
already normalised images (appendix C.1: per-channel mean/std of the training set, see
``nets.data``); any iterable of numpy arrays or torch tensors works, so a dataset never has to fit
in memory. Accumulation is exact (Chan et al.'s pairwise update of mean and centred second
moments), not an average of per-batch estimates.

Covariance convention: ``Sigma[a, b] = E[(x_hat_a - mu_a) conj(x_hat_b - mu_b)]`` (Hermitian), whose
diagonal is the per-frequency variance ``tau_cij`` of eq. 4.17 / Fig. 1c. The paper's eq. C.1 omits
the conjugate; without it the "diagonal" ``E[(x_hat_a - mu_a)^2]`` is not a variance, and a real
image couples k with -k (``x_hat_{-k} = conj(x_hat_k)``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from theory._validate import as_array, positive_int
from theory.streaming import chan_update
from theory.dft import dft2, signed_frequencies


def _as_numpy_batch(batch, shape=None) -> np.ndarray:
    if hasattr(batch, "detach"):
        batch = batch.detach().cpu().numpy()
    x = as_array("batch", batch, ndim=4)
    if np.iscomplexobj(x):
        raise ValueError("batch: expected real images (N, C, H, W), got a complex array")
    if shape is not None and x.shape[1:] != shape:
        raise ValueError(f"batch: expected images of shape {shape}, got {x.shape[1:]}")
    return x.astype(np.float64, copy=False)


class FourierStats:
    """Streaming, exact per-frequency mean and variance tau (and optionally the full covariance).

    ``update(batch)`` with ``batch: (n, C, H, W)`` real; then ``mean`` ``(C, H, W)`` complex,
    ``tau`` ``(C, H, W)`` real (Fig. 1c), and with ``covariance=True`` ``fourier_covariance()``
    ``(CHW, CHW)`` complex Hermitian. The covariance is accumulated in pixel space (real, 4x cheaper)
    and mapped exactly: ``Sigma_F = F Sigma_pix F^*`` with F the per-channel unitary DFT.
    """

    def __init__(self, covariance: bool = False):
        self.n = 0
        self.covariance = covariance
        self._mean_hat = None   # (C, H, W) complex
        self._m2_hat = None     # sum |x_hat - mean|^2, (C, H, W)
        self._mean_pix = None   # (CHW,)
        self._m2_pix = None     # (CHW, CHW) centred sum of outer products
        self.shape = None

    def update(self, batch) -> "FourierStats":
        x = _as_numpy_batch(batch, self.shape)
        if x.shape[0] == 0:
            return self
        self.shape = x.shape[1:]
        nb = x.shape[0]
        xh = dft2(x)
        mb = xh.mean(axis=0)
        m2b = np.sum(np.abs(xh - mb) ** 2, axis=0)
        if self.covariance:
            flat = x.reshape(nb, -1)
            mpb = flat.mean(axis=0)
            centred = flat - mpb
            c2b = centred.T @ centred
        # Chan et al.'s pairwise combination (theory.streaming): exact for any batch split
        if self.covariance:
            _, self._mean_pix, self._m2_pix = chan_update(self.n, self._mean_pix, self._m2_pix, nb, mpb, c2b,
                                                          cross=lambda d: np.outer(d, d))
        _, self._mean_hat, self._m2_hat = chan_update(self.n, self._mean_hat, self._m2_hat, nb, mb, m2b)
        self.n += nb
        return self

    def _require(self, what: str):
        if self.n == 0:
            raise ValueError(f"{what}: no images seen yet (call update with at least one batch)")

    @property
    def mean(self) -> np.ndarray:
        """Fourier-space mean image ``mu_hat`` (appendix C.1), ``(C, H, W)`` complex."""
        self._require("mean")
        return self._mean_hat

    @property
    def tau(self) -> np.ndarray:
        """``tau_cij = E|x_hat_cij - mu_hat_cij|^2`` (eq. 4.17 diagonal, Fig. 1c), ``(C, H, W)``; divides by N."""
        self._require("tau")
        return self._m2_hat / self.n

    def pixel_covariance(self) -> np.ndarray:
        """Pixel-space covariance ``(CHW, CHW)`` real (divides by N)."""
        self._require("pixel_covariance")
        if not self.covariance:
            raise ValueError("covariance: construct FourierStats(covariance=True) to accumulate it")
        return self._m2_pix / self.n

    def fourier_covariance(self) -> np.ndarray:
        """Hermitian Fourier covariance ``Sigma[a, b] = E[(x_hat_a - mu_a) conj(x_hat_b - mu_b)]``, ``(CHW, CHW)``."""
        return pixel_to_fourier(self.pixel_covariance(), self.shape)


def pixel_to_fourier(S, shape: tuple[int, int, int]) -> np.ndarray:
    """``F S F^*`` for a real symmetric ``S`` ``(CHW, CHW)``, F the per-channel unitary DFT (eq. 3.5).

    If ``S = E[x x^T]`` then ``F S F^* = E[x_hat conj(x_hat)^T]``: the Fourier-space (Hermitian)
    second-moment matrix, in O((CHW)^2 log HW) by FFTs instead of dense products.
    """
    C, H, W = shape
    S = as_array("S", S, ndim=2).reshape(C, H, W, C, H, W)
    # sum_q S[p, q] conj(F[b, q]) = conj(dft over q of S) because S is real; then dft over p
    T = np.conj(dft2(S, axes=(4, 5)))
    return dft2(T, axes=(1, 2)).reshape(C * H * W, C * H * W)


def _images_of(batch):
    """The images of one loader batch: the batch itself, the first item of an ``(x, y)`` tuple or list, or a
    dict's ``x`` / ``image`` / ``images`` / ``pixel_values`` entry; tensors become arrays (``np.asarray``)."""
    if isinstance(batch, dict):
        key = next((k for k in ("x", "image", "images", "img", "pixel_values") if k in batch), None)
        if key is None:
            raise ValueError(f"batches: a dict batch needs an 'x' or 'image' key, got keys {sorted(map(str, batch))[:8]}")
        batch = batch[key]
    elif isinstance(batch, (tuple, list)):
        batch = batch[0]
    return np.asarray(batch)


def fourier_stats(batches: Iterable, covariance: bool = False, progress: bool = False) -> FourierStats:
    """Run :class:`FourierStats` over an iterable of ``(n, C, H, W)`` batches (arrays or tensors, alone or
    as the first item of ``(x, y)`` batches or under a dict's ``x``/``image`` key: a ``DataLoader`` works).
    Units are the batches' own (pass [0, 1] pixel units for the paper's tau)."""
    stats = FourierStats(covariance)
    it = batches
    if progress:
        from tqdm import tqdm
        import sys
        it = tqdm(batches, desc="Fourier statistics", unit="batch", disable=not sys.stderr.isatty())
    for b in it:
        stats.update(_images_of(b))
    stats._require("batches")
    return stats


def tau(images) -> np.ndarray:
    """Per-frequency variance ``tau_cij`` (eq. 4.17, Fig. 1c) of an in-memory ``(N, C, H, W)`` array."""
    return FourierStats().update(images).tau


# ---- distances and radial averages ---------------------------------------------------------

def radius_squared(H: int, W: int) -> np.ndarray:
    """Integer ``ki^2 + kj^2`` of the signed frequency grid (FFT order; DC at [0, 0], radius 0)."""
    H, W = positive_int("H", H), positive_int("W", W)
    ki, kj = signed_frequencies(H), signed_frequencies(W)
    return ki[:, None] ** 2 + kj[None, :] ** 2


def radial_average(a) -> tuple[np.ndarray, np.ndarray]:
    """Average of ``a[..., i, j]`` over each exact radius ``r = sqrt(ki^2 + kj^2)`` of the signed grid.

    Equal radii are pooled exactly (grouped by the integer ``ki^2 + kj^2``); DC is r = 0.
    a: ``(..., H, W)`` in FFT order (as ``dft2`` returns); returns ``(r, profile)`` with
    ``r: (R,)`` ascending and ``profile: (..., R)``.
    """
    a = as_array("a", a, ndim_min=2)
    r2 = radius_squared(*a.shape[-2:]).ravel()
    keys, inv, counts = np.unique(r2, return_inverse=True, return_counts=True)
    onehot = np.zeros((r2.size, keys.size))
    onehot[np.arange(r2.size), inv] = 1.0           # pixel -> its radius group
    sums = a.reshape(a.shape[:-2] + (-1,)) @ onehot
    return np.sqrt(keys), sums / counts


def grid_distance(H: int, W: int, torus: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis index distances of the FFT-order grid: plain ``|i - i'|`` or the torus distance of eq. C.2.

    Returns ``(DI, DJ)`` with shapes ``(H, H)``, ``(W, W)``.
    """
    def d(n):
        diff = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
        return np.minimum(diff % n, n - diff % n) if torus else diff
    return d(H), d(W)


def covariance_by_distance(Sigma, shape: tuple[int, int, int], torus: bool = False,
                           chunk: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``E[|Sigma_ab| : d(a, b) = r]`` over all entries, grouped by exact distance (Fig. 1a plain, 1b torus).

    ``d((c,i,j), (c',i',j'))^2 = (c - c')^2 + d(i, i')^2 + d(j, j')^2`` with the plain index distance or
    the torus one of eq. C.2 (indices in FFT order, as in the paper). Vectorised in row chunks of
    ``chunk`` (memory O(chunk * CHW)); no 6-D index grids.
    Sigma: ``(CHW, CHW)``; returns ``(r, mean_abs, counts)`` with r ascending.
    """
    C, H, W = (positive_int(f"shape[{i}]", s) for i, s in enumerate(shape))
    Sigma = as_array("Sigma", Sigma, ndim=2)
    n = C * H * W
    if Sigma.shape != (n, n):
        raise ValueError(f"Sigma: expected shape ({n}, {n}) for images {shape}, got {Sigma.shape}")
    DI, DJ = grid_distance(H, W, torus)
    c_of, i_of, j_of = np.unravel_index(np.arange(n), (C, H, W))
    max_d2 = (C - 1) ** 2 + int(DI.max()) ** 2 + int(DJ.max()) ** 2
    sums = np.zeros(max_d2 + 1)
    counts = np.zeros(max_d2 + 1, dtype=np.int64)
    for s in range(0, n, chunk):
        rows = slice(s, min(s + chunk, n))
        d2 = ((c_of[rows, None] - c_of[None, :]) ** 2 + DI[i_of[rows]][:, i_of] ** 2
              + DJ[j_of[rows]][:, j_of] ** 2)
        sums += np.bincount(d2.ravel(), weights=np.abs(Sigma[rows]).ravel(), minlength=max_d2 + 1)
        counts += np.bincount(d2.ravel(), minlength=max_d2 + 1)
    keep = counts > 0
    return np.sqrt(np.nonzero(keep)[0]), sums[keep] / counts[keep], counts[keep]


def off_diagonal_energy(Sigma, shape: tuple[int, int, int] | None = None) -> float:
    """Fraction of ``|Sigma|_F^2`` off the diagonal: 0 when eq. 4.17's diagonal assumption holds exactly.

    With ``shape = (C, H, W)``, only entries between *different frequencies* count as off-diagonal
    (colour correlations at one frequency are kept on the "diagonal"), i.e. how far the Fourier basis
    decorrelates the data across frequencies.
    """
    Sigma = as_array("Sigma", Sigma, ndim=2)
    total = float(np.sum(np.abs(Sigma) ** 2))
    if total == 0:
        return 0.0
    if shape is None:
        return (total - float(np.sum(np.abs(np.diagonal(Sigma)) ** 2))) / total
    C, H, W = shape
    S = np.abs(Sigma.reshape(C, H * W, C, H * W)) ** 2
    same = float(np.einsum("cpdp->", S))  # all (c, c') pairs at one frequency p
    return (total - same) / total


def off_frequency_noise_floor(tau_, n: int) -> float:
    """The off-frequency energy fraction expected from sampling noise alone if the true covariance were
    diagonal: ``E|Sigma_hat_ab|^2 ~ tau_a tau_b / n`` for a != b, so the floor is
    ``((sum tau)^2 - sum tau^2) / n / (sum tau^2 + ((sum tau)^2 - sum tau^2) / n)``.
    A measured :func:`off_diagonal_energy` near this floor says "diagonal, up to noise".
    """
    t = as_array("tau", tau_).ravel().astype(float)
    n = positive_int("n", n)
    off = (t.sum() ** 2 - np.sum(t ** 2)) / n
    return float(off / (np.sum(t ** 2) + off))


# ---- power-law fits ------------------------------------------------------------------------

@dataclass
class PowerLawFit:
    """``tau ~ gamma / (|i|^alpha + |j|^beta)`` (separable, after eq. 4.19) and ``tau ~ gamma_r / r^alpha_r``."""
    alpha: float
    beta: float
    gamma: float
    alpha_ci: tuple[float, float]
    beta_ci: tuple[float, float]
    alpha_radial: float
    alpha_radial_ci: tuple[float, float]
    gamma_radial: float
    n_points: int


def fit_power_law(tau_, level: float = 0.95) -> PowerLawFit:
    """Fit the power laws of eq. 4.20 to ``tau`` (channels averaged), DC excluded, in log space.

    Separable form ``log tau = log gamma - log(|i|^alpha + |j|^beta)`` by nonlinear least squares
    (scipy ``curve_fit``); radial form ``log T(r) = log gamma_r - alpha_r log r`` on the radial
    average. Confidence intervals are asymptotic (``level``, from the fit covariance, assuming
    independent log-residuals), so read them as indicative.
    tau_: ``(C, H, W)`` or ``(H, W)``, FFT order; returns a :class:`PowerLawFit`.
    """
    from scipy import optimize, stats

    t = as_array("tau", tau_, ndim_min=2)
    t = t.mean(axis=0) if t.ndim == 3 else t
    if t.ndim != 2:
        raise ValueError(f"tau: expected shape (C, H, W) or (H, W), got {np.shape(tau_)}")
    if np.any(t < 0):
        raise ValueError("tau: expected non-negative variances")
    H, W = t.shape
    ai = np.abs(signed_frequencies(H))[:, None] * np.ones((1, W))
    aj = np.abs(signed_frequencies(W))[None, :] * np.ones((H, 1))
    mask = ((ai > 0) | (aj > 0)) & (t > 0)
    if mask.sum() < 4:
        raise ValueError("tau: need at least 4 positive non-DC entries to fit a power law")
    I, J, y = ai[mask], aj[mask], np.log(t[mask])
    model = lambda X, lg, a, b: lg - np.log(X[0] ** a + X[1] ** b)  # noqa: E731
    (lg, a, b), pcov = optimize.curve_fit(model, (I, J), y, p0=(float(y.max()), 2.0, 2.0),
                                          bounds=([-np.inf, 0.01, 0.01], [np.inf, 10, 10]))
    z = stats.norm.ppf(0.5 + level / 2)
    se = np.sqrt(np.clip(np.diag(pcov), 0, None))
    r, prof = radial_average(t)
    keep = (r > 0) & (prof > 0)
    lr = stats.linregress(np.log(r[keep]), np.log(prof[keep]))
    tq = stats.t.ppf(0.5 + level / 2, keep.sum() - 2) if keep.sum() > 2 else np.inf
    return PowerLawFit(alpha=float(a), beta=float(b), gamma=float(np.exp(lg)),
                       alpha_ci=(float(a - z * se[1]), float(a + z * se[1])),
                       beta_ci=(float(b - z * se[2]), float(b + z * se[2])),
                       alpha_radial=float(-lr.slope),
                       alpha_radial_ci=(float(-lr.slope - tq * lr.stderr), float(-lr.slope + tq * lr.stderr)),
                       gamma_radial=float(np.exp(lr.intercept)), n_points=int(mask.sum()))
