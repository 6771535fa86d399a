"""The dataset container, normalisation (appendix C.1) and the cache: the base every dataset module builds on.

Every dataset is an :class:`ImageData`: train / validation / test arrays ``(N, C, H, W)`` with integer
labels, plus the per-channel mean and std of the *training* split (appendix C.1), computed once when
the dataset is built and stored with it; they are never recomputed from evaluation data.

This module imports nothing else from ``nets``; the registry (``nets.data``) and the dataset modules
(``nets.data.embedded``, ``cifar10``, ``synthetic``, ``filters``) import it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infra.io import atomic_write, check_readable, config_key

MAX_NPZ_BYTES = 16 << 30   # a dataset file or cache (CIFAR-10's whole cache is ~0.7 GB)


class DataError(ValueError):
    """A dataset could not be found, read or built; the message says where and what to do."""


@dataclass
class ImageData:
    """A labelled image dataset with fixed splits and training-set normalisation (appendix C.1).

    x_*: ``(N, C, H, W)`` uint8 (0..255) or float32; y_*: ``(N,)`` int64. ``mean``/``std``: ``(C,)``
    per-channel statistics of ``x_train / scale`` (scale 255 for uint8, 1 for float).
    """
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    mean: np.ndarray = field(default=None)
    std: np.ndarray = field(default=None)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            check_images(f"x_{split}", x)
            if y.shape != (x.shape[0],):
                raise DataError(f"y_{split}: expected shape ({x.shape[0]},), got {y.shape}")
            if not np.issubdtype(y.dtype, np.integer):
                raise DataError(f"y_{split}: expected integer labels, got dtype {y.dtype}")
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DataError(f"y_{split}: expected labels in 0..{len(self.classes) - 1} (one per class), "
                                f"got {y.min()}..{y.max()}")
        shapes = {self.x_train.shape[1:], self.x_val.shape[1:], self.x_test.shape[1:]}
        if len(shapes) != 1:
            raise DataError(f"{self.name}: splits have different image shapes {shapes}")
        if self.mean is None:
            self.mean, self.std = channel_stats(self.x_train)
        channels = (self.x_train.shape[1],)
        for name in ("mean", "std"):
            v = np.asarray(getattr(self, name))
            if v.shape != channels or not np.issubdtype(v.dtype, np.number) or not np.isfinite(v).all():
                raise DataError(f"{self.name}: {name} expected {channels[0]} finite numbers (one per channel), "
                                f"got shape {v.shape} dtype {v.dtype}")
        if not (np.asarray(self.std) > 0).all():
            raise DataError(f"{self.name}: std expected > 0 in every channel, got {np.asarray(self.std).tolist()}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    def head(self, n_train: int | None = None, n_val: int | None = None, n_test: int | None = None) -> "ImageData":
        """The first ``n`` images of each split (None: all), keeping this dataset's normalisation: what a run
        uses, so that a filter is computed on those images only (not on 50,000 to train on 2,500)."""
        if n_train is None and n_val is None and n_test is None:
            return self
        return ImageData(self.name, self.x_train[:n_train], self.y_train[:n_train], self.x_val[:n_val],
                         self.y_val[:n_val], self.x_test[:n_test], self.y_test[:n_test], self.classes,
                         self.mean, self.std, dict(self.meta))

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise DataError(f"split: expected 'train', 'val' or 'test', got {name!r}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def normalised(self, name: str) -> np.ndarray:
        """The split as float32, normalised with the training mean/std."""
        return normalise(self.split(name)[0], self.mean, self.std)

    def batches(self, name: str, batch_size: int = 1000):
        """Normalised float32 batches of a split, in order (for streamed statistics)."""
        x = self.split(name)[0]
        for s in range(0, x.shape[0], batch_size):
            yield normalise(x[s:s + batch_size], self.mean, self.std)


def check_images(name: str, x):
    """The one image check (datasets and measures): ``x`` a numpy array or torch tensor of images
    ``(N, C, H, W)``, uint8 or floating point, finite; else one :class:`DataError` (a ValueError) naming ``name``."""
    import sys
    torch = sys.modules.get("torch")   # a tensor can only come from a process that imported torch
    is_tensor = torch is not None and isinstance(x, torch.Tensor)
    if not (isinstance(x, np.ndarray) or is_tensor) or x.ndim != 4:
        raise DataError(f"{name}: expected an array of images (N, C, H, W), got "
                        f"{tuple(x.shape) if hasattr(x, 'shape') else type(x).__name__}")
    floating = x.is_floating_point() if is_tensor else np.issubdtype(x.dtype, np.floating)
    if not floating and x.dtype not in (np.uint8, getattr(torch, "uint8", None)):
        raise DataError(f"{name}: expected uint8 or floating-point pixels, got dtype {x.dtype}")
    if floating and (x.numel() if is_tensor else x.size):
        finite = bool(torch.isfinite(x).all()) if is_tensor else bool(np.isfinite(x).all())
        if not finite:
            raise DataError(f"{name}: expected finite pixels, found NaN or inf")
    return x


def _scale(x: np.ndarray) -> float:
    return 255.0 if x.dtype == np.uint8 else 1.0


def channel_stats(x: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of ``x / scale`` over all images and pixels (appendix C.1), float64, streamed."""
    check_images("x", x)
    if x.shape[0] == 0:
        raise DataError("x: cannot compute normalisation statistics of an empty training set")
    s1 = np.zeros(x.shape[1])
    s2 = np.zeros(x.shape[1])
    for i in range(0, x.shape[0], batch):
        b = x[i:i + batch].astype(np.float64) / _scale(x)
        s1 += b.sum(axis=(0, 2, 3))
        s2 += (b ** 2).sum(axis=(0, 2, 3))
    n = x.shape[0] * x.shape[2] * x.shape[3]
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 / n - mean ** 2, 0))
    return mean, np.where(std > 0, std, 1.0)


def normalise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x / scale - mean_c) / std_c`` as float32 (appendix C.1)."""
    x = check_images("x", x)
    m = np.asarray(mean, dtype=np.float32)[:, None, None]
    s = np.asarray(std, dtype=np.float32)[:, None, None]
    return (x.astype(np.float32) / np.float32(_scale(x)) - m) / s


# ---- cache -------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Where built datasets are cached: ``$FREQSENS_CACHE`` or, when it is unset or empty (the XDG rule: an
    empty variable means "use the default", never the working directory), ``~/.cache/freqsens``."""
    return Path(os.environ.get("FREQSENS_CACHE") or Path.home() / ".cache" / "freqsens")


def save_npz(path: Path, data: ImageData) -> None:
    """Write a dataset atomically (temp file + rename) with its normalisation and metadata."""
    arrays = {k: getattr(data, k) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "mean", "std")}
    arrays.update({f"meta__{k}": v for k, v in data.meta.items() if isinstance(v, np.ndarray)})
    meta = {k: v for k, v in data.meta.items() if not isinstance(v, np.ndarray)}
    header = json.dumps({"name": data.name, "classes": data.classes, "meta": meta})
    atomic_write(path, lambda f: np.savez(f, **arrays, header=header))


def load_npz(path: Path) -> ImageData:
    try:
        check_readable(path, MAX_NPZ_BYTES)   # a FIFO or a link to /dev/zero is refused, never read
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            arrays = {k: z[k] for k in z.files if k != "header" and not k.startswith("meta__")}
            header["meta"].update({k[len("meta__"):]: z[k] for k in z.files if k.startswith("meta__")})
        # a poisoned cache (wrong keys, shapes or header) is a DataError, so cached() rebuilds it
        return ImageData(name=str(header["name"]), classes=list(header["classes"]), meta=dict(header["meta"]),
                         **arrays)
    except DataError as exc:
        raise DataError(f"cached dataset {path} is inconsistent ({exc})") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, __import__('zipfile').BadZipFile) as exc:
        raise DataError(f"cached dataset {path} is unreadable ({type(exc).__name__}: {exc})") from None


def cached(config: dict, build) -> ImageData:
    """Return the dataset for ``config`` from the cache, building and caching it when absent.

    A cache file that cannot be read (truncated, not an npz) is reported on stderr and rebuilt, never used.
    """
    path = cache_dir() / f"{config['dataset']}-{config_key(config)}.npz"
    if path.exists():
        try:
            return load_npz(path)
        except DataError as exc:
            import sys
            print(f"[freqsens] {exc}: rebuilding it", file=sys.stderr)
    data = build()
    data.meta["config"] = config
    try:
        save_npz(path, data)
    except OSError:  # a read-only cache must not stop the run; the data is still returned
        pass
    return data
