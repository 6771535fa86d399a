"""Synthetic spectra: Gaussian random fields and dead-leaves images, where the paper's claim bites.

* Gaussian random fields with ``tau(k) = gamma / |k|^alpha`` exactly in expectation (per channel;
  optional correlation ``rho`` between channels). DC gets the variance of |k| = 1.
* Dead-leaves images (Lee, Mumford & Huang 2001): opaque disks with radii of density ``~ r^-3`` on
  ``[r_min, r_max]`` (scale invariant), uniform random colours, placed on the torus (periodic, as the
  circular convolutions of eq. 3.2 see them), earlier disks on top, until every pixel is covered.
* Labels (documented scheme): a fixed random *linear teacher* ``w (K, C, H, W)`` with i.i.d. N(0, 1)
  entries (a flat spectrum, so it favours no frequency); label = argmax_k <w_k, x - mean>. The task
  is learnable by a linear model and all frequency preference comes from the data.
* Spectral filters of any dataset live in ``nets.data.filters``.
"""
from __future__ import annotations

import numpy as np

from nets.data.base import DataError, ImageData, cached, normalise
from theory.dft import dft2, idft2
from theory.spectra import radius_squared


def _check_size(name, v, minimum=1):
    if not isinstance(v, (int, np.integer)) or v < minimum:
        raise DataError(f"{name}: expected an integer >= {minimum}, got {v!r}")


def gaussian_field(n: int, C: int = 3, H: int = 32, W: int = 32, alpha: float = 2.0, gamma: float = 1.0,
                   rho: float = 0.0, rng=None) -> np.ndarray:
    """``(n, C, H, W)`` float32 Gaussian random fields with ``E|x_hat_cij|^2 = gamma / |k|^alpha``."""
    _check_size("n", n, 0)
    for name, v in (("alpha", alpha), ("gamma", gamma), ("rho", rho)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise DataError(f"{name}: expected a finite number, got {v!r}")
    if not (alpha >= 0 and gamma > 0 and -1 / max(C - 1, 1) < rho < 1):
        raise DataError(f"alpha >= 0, gamma > 0 and -1/(C-1) < rho < 1 expected, got {alpha}, {gamma}, {rho}")
    rng = np.random.default_rng(rng)
    z = rng.standard_normal((n, C, H, W))
    if C > 1 and rho != 0:
        L = np.linalg.cholesky((1 - rho) * np.eye(C) + rho * np.ones((C, C)))
        z = np.einsum("cd,nd...->nc...", L, z)
    r2 = radius_squared(H, W).astype(float)
    r2[0, 0] = 1.0
    amp = np.sqrt(gamma / r2 ** (alpha / 2))
    return idft2(dft2(z) * amp).real.astype(np.float32)


def dead_leaves(n: int, C: int = 3, H: int = 32, W: int = 32, r_min: float = 1.0, r_max: float | None = None,
                rng=None, chunk: int = 64) -> np.ndarray:
    """``(n, C, H, W)`` float32 dead-leaves images in [0, 1] (Lee, Mumford & Huang 2001), periodic."""
    _check_size("n", n, 0)
    r_max = float(r_max if r_max is not None else min(H, W) / 2)
    if not 0 < r_min < r_max:
        raise DataError(f"r_min, r_max: expected 0 < r_min < r_max, got {r_min}, {r_max}")
    rng = np.random.default_rng(rng)
    ys, xs = np.arange(H, dtype=np.float32), np.arange(W, dtype=np.float32)
    out = np.empty((n, C, H, W), dtype=np.float32)
    # expected coverage per pixel ~ n_disks * pi E[r^2] / (HW) >> 1; an uncovered pixel (probability
    # < e^-9 at these sizes) takes the colour of disk 0
    n_disks = int(12 * H * W / (np.pi * 2 * np.log(r_max / r_min) * r_min ** 2 + 1e-9)) + 50
    for s in range(0, n, chunk):
        b = min(chunk, n - s)
        q = rng.random((b, n_disks))
        r = (1 / np.sqrt(1 / r_min ** 2 - q * (1 / r_min ** 2 - 1 / r_max ** 2))).astype(np.float32)  # density ~ r^-3
        cy = (rng.random((b, n_disks)) * H).astype(np.float32)
        cx = (rng.random((b, n_disks)) * W).astype(np.float32)
        dy = np.abs(ys - cy[..., None])
        dx = np.abs(xs - cx[..., None])
        dy, dx = np.minimum(dy, H - dy), np.minimum(dx, W - dx)          # torus distance, separable
        cover = dy[..., :, None] ** 2 + dx[..., None, :] ** 2 <= (r ** 2)[..., None, None]  # (b, disks, H, W)
        top = np.argmax(cover, axis=1)                                    # first (topmost) covering disk
        colours = rng.random((b, n_disks, C)).astype(np.float32)
        out[s:s + b] = np.moveaxis(np.take_along_axis(colours, top.reshape(b, -1, 1), axis=1).reshape(b, H, W, C), -1, 1)
    return out


def teacher_labels(x_norm: np.ndarray, K: int, seed: int) -> np.ndarray:
    """Labels of the fixed random linear teacher: ``argmax_k <w_k, x>``, ``w ~ N(0, 1)`` i.i.d. (flat spectrum)."""
    w = np.random.default_rng([seed, 7777]).standard_normal((K,) + x_norm.shape[1:]).astype(np.float32)
    return np.argmax(np.einsum("kchw,nchw->nk", w, x_norm), axis=1).astype(np.int64)


def synthetic(kind: str, n_train: int = 10000, n_val: int = 1000, n_test: int = 2000, seed: int = 0, K: int = 10,
              C: int = 3, H: int = 32, W: int = 32, alpha: float = 2.0, gamma: float = 1.0, rho: float = 0.0,
              r_min: float = 1.0, use_cache: bool = True) -> ImageData:
    """A synthetic labelled dataset: ``kind`` = ``"grf"`` (alpha, gamma, rho) or ``"deadleaves"`` (r_min)."""
    if kind not in ("grf", "deadleaves"):
        raise DataError(f"synthetic kind: expected 'grf' or 'deadleaves', got {kind!r}")
    for name, v in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test), ("K", K), ("C", C), ("H", H), ("W", W)):
        _check_size(name, v)
    if not 0 <= seed < 2**32:
        raise DataError(f"seed: expected an integer in [0, 2**32), got {seed}")
    from infra.resources import ResourceError, require_memory
    try:   # float64 noise, its complex128 FFT and the float32 result: ~40 bytes per pixel value
        require_memory(40.0 * (n_train + n_val + n_test) * C * H * W,
                       f"synthetic {kind} with n_train+n_val+n_test={n_train + n_val + n_test}, C={C}, H={H}, W={W}")
    except ResourceError as exc:
        raise DataError(str(exc)) from None
    config = dict(dataset=f"synthetic-{kind}", n_train=n_train, n_val=n_val, n_test=n_test, seed=seed, K=K, C=C, H=H,
                  W=W, version=1, **({"alpha": alpha, "gamma": gamma, "rho": rho} if kind == "grf" else {"r_min": r_min}))

    def build():
        rng = np.random.default_rng([seed, 31])
        n = n_train + n_val + n_test
        x = gaussian_field(n, C, H, W, alpha, gamma, rho, rng) if kind == "grf" else dead_leaves(n, C, H, W, r_min, rng=rng)
        mean = x[:n_train].mean(axis=(0, 2, 3))
        std = x[:n_train].std(axis=(0, 2, 3))
        y = teacher_labels(normalise(x, mean, std), K, seed)
        parts = np.split(np.arange(n), [n_train, n_train + n_val])
        return ImageData(f"synthetic:{kind}", *(a for p in parts for a in (x[p], y[p])), classes=[str(k) for k in range(K)],
                         meta={"kind": kind, "labels": "random linear teacher, argmax"})

    return cached(config, build) if use_cache else build()
