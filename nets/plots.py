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


def save(fig, path, dpi: int = 90) -> None:
    """``tight_layout`` and an atomic PNG write: how every report figure ends."""
    from infra.io import atomic_save_figure
    fig.tight_layout()
    atomic_save_figure(fig, path, dpi=dpi)


def use_agg():
    """matplotlib with the file-only backend (no display here or on clusters); returns pyplot."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_map(S: np.ndarray, path, title: str, se: np.ndarray | None = None, units: str = "",
             vmin: float | None = None, vmax: float | None = None, label: str = "sensitivity") -> None:
    """The one figure of a per-frequency map ``S (C, H, W)`` (FFT order): left, log10 of its channel mean with
    DC at the centre on signed-frequency axes and a colour bar (``vmin``/``vmax`` fix the scale, in log10
    units; default: a fixed span of 3 decades below the map's maximum, stated on the bar, so a flat map of
    noise looks flat); right, its radial curve (exact radii, ``r > 0``) on log-log axes as in the paper's
    Figs. 3a/4a/5a (raw averages, no smoothing), with +- 2 standard errors when ``se`` is given, on a y range
    of at least one decade. Saved atomically to ``path``."""
    from infra.io import atomic_save_figure
    from nets.measures.radial import radial_curve
    plt = use_agg()
    S = np.asarray(S, float)
    m = S.mean(0) if S.ndim == 3 else S
    H, W = m.shape
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    logm = np.log10(np.fft.fftshift(m) + 1e-30)
    fixed = vmin is None and vmax is None
    if fixed:
        vmax = float(logm.max())
        vmin = vmax - 3
    im = a.imshow(logm, origin="lower", extent=fft_extent(H, W), cmap="viridis", vmin=vmin, vmax=vmax)
    fig.colorbar(im, ax=a, label=f"log10 {label}" + (f" ({units})" if units else "")
                 + ("\n(3 decades below the maximum)" if fixed else ""))
    a.set(title=f"{title}\nchannel mean, DC at the centre", xlabel="k_j (cycles per image)", ylabel="k_i")
    r, g = radial_curve(S)
    keep = (r > 0) & (g > 0)
    b.plot(r[keep], g[keep], color="C0", label=label)
    if se is not None:
        _, gs = radial_curve(np.asarray(se, float))
        lo = np.maximum(g - 2 * gs, g[keep].min() * 1e-3)
        b.fill_between(r[keep], lo[keep], (g + 2 * gs)[keep], alpha=0.3, color="C0", label="+- 2 standard errors")
    b.set(xscale="log", yscale="log", xlabel="r = |k| (log)", ylabel=f"radial average of the {label} (log)",
          title="radial curve (r > 0, log-log)")
    lo, hi = b.get_ylim()
    if hi / lo < 10:   # at least one decade: a 3 % wiggle must not fill the panel
        mid = np.sqrt(lo * hi)
        b.set_ylim(mid / np.sqrt(10), mid * np.sqrt(10))
    b.legend(fontsize=8)
    for ax in (a, b):
        ax.title.set_fontsize(9)
    fig.tight_layout()
    atomic_save_figure(fig, path)


def plot_radial(curves: dict, path, title: str = "radial curves", ylabel: str = "radial average (log)") -> None:
    """Radial curves of several maps on one log-log panel (exact radii, ``r > 0``, no smoothing), e.g. a
    trained model, its untrained twin and tau. ``curves``: label -> a ``Map`` (drawn with +- 2 standard errors),
    the result of ``theory.spectra.fourier_stats`` (its ``tau`` is drawn), or an array ``(C, H, W)`` / ``(H, W)``
    in FFT order. Each curve is divided by its value at the smallest radius, so curves in different units share
    the axis (only their shapes are compared). Saved to ``path``."""
    from nets.measures.radial import radial_curve
    plt = use_agg()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, (label, m) in enumerate(curves.items()):
        if hasattr(m, "tau") and not hasattr(m, "se"):   # fourier_stats(loader), as the README's snippet has it
            m = m.tau
        mean, se = (m.mean, m.se) if hasattr(m, "mean") and hasattr(m, "se") else (np.asarray(m, float), None)
        r, g = radial_curve(np.asarray(mean, float))
        keep = (r > 0) & (g > 0)
        if not keep.any():
            continue
        ref = g[keep][0]
        ax.plot(r[keep], g[keep] / ref, color=f"C{i}", label=label)
        if se is not None:
            _, gs = radial_curve(np.asarray(se, float))
            lo = np.maximum(g - 2 * gs, g[keep].min() * 1e-3)
            ax.fill_between(r[keep], (lo / ref)[keep], ((g + 2 * gs) / ref)[keep], alpha=0.25, color=f"C{i}")
    ax.set(xscale="log", yscale="log", xlabel="r = |k| (cycles per image, log)",
           ylabel=ylabel + ", relative to the smallest r", title=title)
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
    save(fig, path)
