"""Spectral filters as a transform of any dataset: ``apply_filter(data, spec)`` returns a new ``ImageData``.

High-pass (zero the centred square of half-width ``ratio * W/2``, i.e. all k with
max(|ki|/(H/2), |kj|/(W/2)) < ratio; the published code zeroed an fftshift slice ``[c-h:c+h]``, which is
not symmetric under k -> -k: ``highpass_released:R`` reproduces its effective gain, 0.5 on that ring), low-pass, band-pass, whitening (divide by the training amplitude spectrum
sqrt(tau)) and spectrum inversion (rescale each frequency so its variance becomes the radial variance
profile read backwards: low frequencies get the high-frequency variance and vice versa). Whitening and
inversion use tau of the *training* split only.

``standardise`` is the one per-image (not linear, not a gain) transform: each image minus its own
per-channel means, divided by its own standard deviation over (C, H, W). It removes the DC terms and
the contrast, so a label that mean colour decides (the embedded task's source photograph) must be read
from spatial structure instead: the mean-colour control of the experiments.
"""
from __future__ import annotations

import numpy as np

from nets.data.base import DataError, ImageData, normalise
from theory.dft import conjugate_indices, dft2, idft2, signed_frequencies
from theory.spectra import fourier_stats, radial_average, radius_squared


def _box_radius(H: int, W: int) -> np.ndarray:
    """``max(|ki| / (H/2), |kj| / (W/2))`` on the signed FFT-order grid: 0 at DC, 1 at Nyquist."""
    ki, kj = np.abs(signed_frequencies(H)), np.abs(signed_frequencies(W))
    return np.maximum(ki[:, None] / (H / 2), kj[None, :] / (W / 2))


FILTERS = ("highpass", "highpass_released", "lowpass", "bandpass", "whiten", "invert", "standardise")


def parse_filter(spec: str) -> tuple[str, tuple[float, ...]]:
    """``"highpass:0.5"`` -> ``("highpass", (0.5,))``; ``"bandpass:0.2,0.6"``; ``"whiten"``; ``"invert"``."""
    kind, _, args = spec.partition(":")
    if kind not in FILTERS:
        raise DataError(f"filter: unknown kind {kind!r}; expected one of {', '.join(FILTERS)}")
    try:
        vals = tuple(float(a) for a in args.split(",")) if args else ()
    except ValueError:
        raise DataError(f"filter {spec!r}: arguments must be numbers") from None
    need = {"highpass": 1, "highpass_released": 1, "lowpass": 1, "bandpass": 2, "whiten": 0, "invert": 0, "standardise": 0}[kind]
    if len(vals) != need:
        raise DataError(f"filter {spec!r}: {kind} takes {need} argument(s), got {len(vals)}")
    if any(not 0 < v < 1 for v in vals) or (kind == "bandpass" and vals[0] >= vals[1]):
        raise DataError(f"filter {spec!r}: ratio(s) must lie in (0, 1) (band-pass: low < high)")
    return kind, vals


def filter_gain(spec: str, shape: tuple[int, int, int], tau_train: np.ndarray | None = None) -> np.ndarray:
    """Per-frequency multiplicative gain ``(C, H, W)`` (FFT order) of a filter; symmetric in k -> -k."""
    kind, vals = parse_filter(spec)
    if kind == "standardise":
        raise DataError("filter standardise: a per-image transform, not a per-frequency gain")
    C, H, W = shape
    u = np.broadcast_to(_box_radius(H, W), (C, H, W))
    if kind == "highpass":
        return (u >= vals[0]).astype(float)
    if kind == "highpass_released":
        return np.broadcast_to(released_highpass_gain(H, W, vals[0]), (C, H, W)).copy()
    if kind == "lowpass":
        return (u < vals[0]).astype(float)
    if kind == "bandpass":
        return ((u >= vals[0]) & (u < vals[1])).astype(float)
    if tau_train is None:
        raise DataError(f"filter {kind}: needs tau of the training split")
    t = np.maximum(tau_train, 1e-12 * tau_train.max())
    if kind == "whiten":
        return np.sqrt(t.mean() / t)
    # invert: the variance at radius index i becomes the radial profile at index R-1-i
    r, prof = radial_average(t.mean(axis=0))
    # each frequency's radius group, matched on the integer ki^2 + kj^2: searchsorted on the float r**2
    # (sqrt then square) misplaced 32 of 135 radii at 32 x 32, i.e. 240 of 1,024 frequencies
    keys, r2 = np.rint(r ** 2).astype(np.int64), radius_squared(H, W)
    idx = np.searchsorted(keys, r2)
    assert np.array_equal(keys[idx], r2)
    target = prof[::-1][idx]
    return np.sqrt(target[None] / t)


def released_highpass_gain(H: int, W: int, ratio: float) -> np.ndarray:
    """The effective gain ``(H, W)`` (FFT order) of the released code's ``PassFilter`` high-pass (DESIGN.md):
    after fftshift it zeroes the index block ``[c - k, c + k)`` on both axes (``c = N/2``, ``k = int(ratio
    N/2)``), i.e. signed frequencies ``-k <= f < k``, then keeps the real part of the inverse FFT. Since
    ``Re(idft(m X)) = idft((m(f) + m(-f)) / 2 X)`` for real images, the effective gain is the mask averaged
    with its mirror: 0 inside (DC included), 0.5 on the ring where only one of f, -f was zeroed, 1 outside."""
    def kept(n):
        f = signed_frequencies(n)
        k = int(ratio * n / 2)
        return (f < -k) | (f >= k)          # outside the zeroed block along this axis
    mask = (kept(H)[:, None] | kept(W)[None, :]).astype(float)
    I, J = conjugate_indices(H, W)
    return (mask + mask[I, J]) / 2


def standardise(x: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` -> each image minus its per-channel means, over its std across (C, H, W)
    (an image with no spatial variation becomes 0): no DC term and unit contrast in every image."""
    x = x - x.mean(axis=(2, 3), keepdims=True)
    sd = x.std(axis=(1, 2, 3), keepdims=True)
    return (x / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def apply_filter(data: ImageData, spec: str) -> ImageData:
    """A new dataset whose images are ``idft2(gain * dft2(x))`` of the normalised images (float32), or
    :func:`standardise` of them; its normalisation is recomputed from its own training split.
    Whitening/inversion use the training tau only."""
    kind, _ = parse_filter(spec)
    if kind == "standardise":
        def transform(xn):
            return standardise(xn)
    else:
        tau_train = fourier_stats(data.batches("train", 2000)).tau if kind in ("whiten", "invert") else None
        gain = filter_gain(spec, data.shape, tau_train)

        def transform(xn):
            return idft2(dft2(xn) * gain).real

    def f(x):
        out = np.empty(x.shape, dtype=np.float32)
        for s in range(0, len(x), 2000):
            out[s:s + 2000] = transform(normalise(x[s:s + 2000], data.mean, data.std))
        return out

    return ImageData(f"{data.name}+{spec}", f(data.x_train), data.y_train, f(data.x_val), data.y_val, f(data.x_test),
                     data.y_test, data.classes, meta={**{k: v for k, v in data.meta.items() if not k.startswith("pos_")},
                                                      "filter": spec, "parent": data.name})
