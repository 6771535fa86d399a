"""A user's own images: ``folder:PATH`` (one subfolder per class, PNG/JPEG) and ``npz:PATH`` (arrays x, y).

Folder images are read with Pillow, converted to RGB, resized so that the shorter side is ``size`` and
centre-cropped to ``size x size`` (the usual ImageNet preprocessing), kept as uint8 (pixel units, scaled to
[0, 1] by normalisation and by the measures), and cached under ``nets.data.cache_dir()`` keyed by the file
names, sizes and modification times. Splits: seeded, stratified by class (``val_fraction``,
``test_fraction`` of each class; at least one image each when a class has three or more).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nets.data.base import DataError, ImageData, cached

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def _split(y: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not (isinstance(f, (int, float)) and 0 <= f < 1):
            raise DataError(f"{name}: expected a number in [0, 1), got {f!r}")
    if val_fraction + test_fraction >= 1:
        raise DataError("val_fraction + test_fraction: expected a sum below 1")
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_te = int(round(test_fraction * len(idx))) or (1 if len(idx) >= 3 and test_fraction > 0 else 0)
        n_va = int(round(val_fraction * len(idx))) or (1 if len(idx) >= 3 and val_fraction > 0 else 0)
        parts["test"].append(idx[:n_te])
        parts["val"].append(idx[n_te:n_te + n_va])
        parts["train"].append(idx[n_te + n_va:])
    out = {k: np.sort(np.concatenate(v)) for k, v in parts.items()}
    if len(out["train"]) == 0:
        raise DataError("too few images: no training images left after the validation and test splits")
    return out


def _load_image(path: Path, size: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            if min(w, h) < 1:
                raise DataError(f"{path}: empty image")
            scale = size / min(w, h)
            im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
            w, h = im.size
            left, top = (w - size) // 2, (h - size) // 2
            im = im.crop((left, top, left + size, top + size))
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None


def folder(path: str, size: int = 32, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0,
           use_cache: bool = True) -> ImageData:
    """Images under ``path/<class>/*.png|jpg``; classes are the subfolder names in sorted order."""
    root = Path(path).expanduser()
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DataError(f"size: expected an integer >= 1, got {size!r}")
    if not root.is_dir():
        raise DataError(f"folder:{path}: not a folder")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files = [(f, c) for c, name in enumerate(classes) for f in sorted((root / name).iterdir())
             if f.suffix.lower() in EXTENSIONS]
    if len(classes) < 2 or not files:
        raise DataError(f"folder:{path}: expected one subfolder per class (at least 2) holding PNG/JPEG images, "
                        f"found {len(classes)} subfolder(s) and {len(files)} image(s)")
    stamp = [(str(f.relative_to(root)), f.stat().st_size, f.stat().st_mtime_ns) for f, _ in files]
    config = dict(dataset="folder", root=str(root.resolve()), files=stamp, size=size, val_fraction=val_fraction,
                  test_fraction=test_fraction, seed=seed, version=1)

    def build():
        x = np.stack([_load_image(f, size) for f, _ in files])
        y = np.array([c for _, c in files], dtype=np.int64)
        sp = _split(y, val_fraction, test_fraction, seed)
        return ImageData(f"folder:{root.name}", *(a for k in ("train", "val", "test") for a in (x[sp[k]], y[sp[k]])),
                         classes=classes, meta={"root": str(root), "size": size})

    return cached(config, build) if use_cache else build()


def npz_file(path: str, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0) -> ImageData:
    """Arrays ``x (N, C, H, W)`` (uint8, or float in pixel units) and ``y (N,)`` integer labels from an .npz
    (read with ``allow_pickle=False``: no code runs from the file)."""
    p = Path(path).expanduser()
    try:
        with np.load(p, allow_pickle=False) as z:
            x, y = z["x"], z["y"]
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DataError(f"npz:{path}: expected an .npz with arrays x (N, C, H, W) and y (N,) "
                        f"({type(exc).__name__}: {exc})") from None
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x):
        raise DataError(f"npz:{path}: y must be N integer labels, got {y.dtype} {y.shape} for {len(x)} images")
    if y.min() < 0:
        raise DataError(f"npz:{path}: labels must be >= 0")
    sp = _split(y, val_fraction, test_fraction, seed)
    K = int(y.max()) + 1
    return ImageData(f"npz:{os.path.basename(path)}", *(a for k in ("train", "val", "test") for a in (x[sp[k]], y[sp[k]])),
                     classes=[str(k) for k in range(K)], meta={"path": str(p)})
