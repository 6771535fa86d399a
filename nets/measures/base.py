"""What every measure returns (:class:`Map`: mean and standard error over images) and the streaming
accumulator they share (Chan's update from ``theory.streaming``)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from nets.data.base import check_images
from theory.streaming import chan_update


@dataclass
class Map:
    """A per-frequency map of a trained classifier, averaged over images.

    mean, se: same shape (``(C, H, W)`` or ``(H, W)``), FFT order (DC at ``[0, 0]``); se is the standard
    error of the mean over the ``n`` images. ``meta``: what the measure wants recorded (units, epsilon...).
    """
    mean: np.ndarray
    se: np.ndarray
    n: int
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        what = ", ".join(f"{k}={v!r}" for k, v in self.meta.items() if k in ("measure", "units", "epsilon", "probes"))
        return (f"Map(shape={tuple(np.shape(self.mean))}, n={self.n}, mean in [{np.nanmin(self.mean):.4g}, "
                f"{np.nanmax(self.mean):.4g}]{', ' + what if what else ''})")


class RunningMean:
    """Mean and standard error over images, fed batch by batch ``(B, ...)`` (float64, exact for any split)."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, None, None

    def update(self, values: torch.Tensor) -> None:
        v = values.detach().double().cpu()
        nb = v.shape[0]
        mb = v.mean(0)
        self.n, self.mean, self.m2 = chan_update(self.n, self.mean, self.m2, nb, mb, ((v - mb) ** 2).sum(0))

    def result(self, **meta) -> Map:
        if self.n == 0:
            raise ValueError("images: expected at least one image, got none")
        var = self.m2 / max(self.n - 1, 1)   # unbiased variance over images
        return Map(self.mean.numpy(), (var / self.n).sqrt().numpy(), int(self.n), dict(meta))


class Normalised(torch.nn.Module):
    """``model((x - mean_c) / std_c)``: a classifier of pixel-unit images, so that gradients and perturbations
    are per unit of pixel intensity (the paper's convention) while the model sees normalised inputs."""

    def __init__(self, model: torch.nn.Module, mean, std):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, np.float32)).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, np.float32)).view(1, -1, 1, 1))
        if not torch.all(self.std > 0):
            raise ValueError("std: expected positive per-channel standard deviations")

    def forward(self, x):
        return self.model((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))


def prepare(model: torch.nn.Module, normalise=None, device=None) -> tuple[torch.nn.Module, torch.device]:
    """The model (wrapped in :class:`Normalised` if ``normalise = (mean, std)``) in eval mode on ``device``
    (default: where its parameters are)."""
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if normalise is not None:
        model = Normalised(model, *normalise)
    params = list(model.parameters())
    device = torch.device(device) if device is not None else (params[0].device if params else torch.device("cpu"))
    return model.to(device).eval(), device


IMAGE_KEYS = ("x", "image", "images", "img", "pixel_values", "input", "inputs")
LABEL_KEYS = ("y", "label", "labels", "target", "targets")
_WARNED: set = set()


def _pixels(x: torch.Tensor) -> torch.Tensor:
    """Float images in pixel units: uint8 batches are divided by 255 (with a one-time note), other integer
    types are refused, float types are kept (float64 models stay float64)."""
    if x.dtype == torch.uint8:
        if "uint8" not in _WARNED:
            import warnings
            _WARNED.add("uint8")
            warnings.warn("images: uint8 batches are scaled by 1/255 to [0, 1] pixel units", stacklevel=3)
        return x.float() / 255.0
    if not x.is_floating_point():
        raise ValueError(f"images: expected float images in [0, 1] or uint8 in 0..255, got {x.dtype}")
    return x


def split_batch(b) -> tuple:
    """``(x, y)`` from one batch of a loader: a tensor (no labels), an ``(x, y, ...)`` tuple or list, or a dict
    with an image key (``x``, ``image``, ``pixel_values``, ...) and optionally a label key (``y``, ``label``,
    ``target``, ...)."""
    if isinstance(b, dict):
        xk = next((k for k in IMAGE_KEYS if k in b), None)
        if xk is None:
            raise ValueError(f"images: a dict batch needs one of the keys {IMAGE_KEYS} for the images, got keys "
                             f"{sorted(map(str, b))[:8]}")
        yk = next((k for k in LABEL_KEYS if k in b), None)
        return b[xk], (b[yk] if yk is not None else None)
    if isinstance(b, (tuple, list)):
        if len(b) == 0:
            raise ValueError("images: got an empty batch")
        return b[0], (b[1] if len(b) >= 2 else None)
    return b, None


def iter_batches(images, labels=None, batch_size: int = 256, device="cpu"):
    """Yield ``(x, y)`` batches on ``device`` from a tensor or array ``(N, C, H, W)`` (with ``labels (N,)``),
    or from any iterable (a ``DataLoader``) of ``x``, ``(x, y)`` or dict batches (:func:`split_batch`).
    ``y`` is None when there are none. uint8 images are scaled to [0, 1] pixel units."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels.astype(np.int64))
    if isinstance(images, torch.Tensor):
        check_images("x", images)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        for s in range(0, len(images), batch_size):
            yield (_pixels(images[s:s + batch_size]).to(device),
                   None if labels is None else labels[s:s + batch_size].to(device))
        return
    try:
        it = iter(images)
    except TypeError:
        raise ValueError(f"images: expected a tensor, an array or an iterable of batches, got "
                         f"{type(images).__name__}") from None
    for b in it:
        x, y = split_batch(b)
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        check_images("images (a batch)", x)
        yield _pixels(x).to(device), None if y is None else torch.as_tensor(y).long().to(device)


def keeps_mode(measure):
    """Decorator for a measure ``f(model, ...)``: the model's ``training`` flags (and its device) are as they
    were after the call; the measure itself works in eval mode (:func:`prepare`)."""
    import functools

    @functools.wraps(measure)
    def wrapped(model, *args, **kwargs):
        modes = [(m, m.training) for m in model.modules()] if isinstance(model, torch.nn.Module) else []
        try:
            return measure(model, *args, **kwargs)
        finally:
            for m, mode in modes:
                m.training = mode
    return wrapped


@contextmanager
def input_gradients_only(model: torch.nn.Module):
    """Within the block the model's parameters do not require gradients (restored after, also on error).

    Why: ``torch.autograd.grad(out, x)`` skips parameter gradients of built-in ops, but a custom
    ``autograd.Function`` (the FFT layer, or any in a user's model) sees ``needs_input_grad`` from
    ``requires_grad`` and would compute them anyway: for ConvActually that is a third of each backward pass.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        for p in params:
            p.requires_grad_(False)
        yield model
    finally:
        for p in params:
            p.requires_grad_(True)
