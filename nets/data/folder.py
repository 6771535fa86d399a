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
DECODERS = ("PNG", "JPEG", "BMP", "WEBP")   # Pillow's names for the formats of EXTENSIONS: the only decoders run
MAX_PIXELS = 50_000_000      # per decoded image (Pillow's own bomb limit is ~179M): a 7000x7000 photo passes
MAX_ASPECT = 50              # a 2,000,000 x 1 strip would become 64M x 32 after the resize
MAX_SIZE = 2048              # --size: the analysis of 2048^2 images is already hours per frequency map
MAX_CLASSES = 100_000        # labels bound the class list that is built from them


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


def _to_rgb(im, path: Path):
    """RGB uint8 with the right scaling: 16-bit and 32-bit integer greyscale is divided down (Pillow's own
    ``convert`` clips it at 255), float images are refused (their range is unknown)."""
    from PIL import Image
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        if a.min() < 0 or a.max() > 65535:
            raise DataError(f"{path}: 32-bit integer image with values outside 0..65535; convert it to 8 or 16 bits")
        im = Image.fromarray(np.round(a / 257.0).astype(np.uint8), "L")
    elif im.mode == "F":
        raise DataError(f"{path}: floating-point image (mode F) of unknown range; save it as 8 or 16-bit PNG")
    return im.convert("RGB")


def _load_image(path: Path, size: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError
    import stat
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):   # a FIFO would block forever, a device never end
            raise DataError(f"{path}: not a regular file")
        import warnings
        with warnings.catch_warnings():   # Pillow's own bomb warning: the size check below decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # the decoder is chosen from these formats only, never from whatever the content claims to be
            # (an EPS file named x.png would otherwise be handed to Ghostscript)
            im = Image.open(path, formats=DECODERS)
        with im:
            w, h = w0, h0 = im.size   # from the header: checked before a single pixel is decoded
            if min(w, h) < 1:
                raise DataError(f"{path}: empty image")
            if w * h > MAX_PIXELS or max(w, h) > MAX_ASPECT * min(w, h):
                raise DataError(f"{path}: {w}x{h} pixels; expected at most {MAX_PIXELS:,} pixels and an aspect ratio "
                                f"up to {MAX_ASPECT}:1 (decompression-bomb and strip guard)")
            im = _to_rgb(im, path)
            scale = size / min(w, h)
            im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
            w, h = im.size
            left, top = (w - size) // 2, (h - size) // 2
            im = im.crop((left, top, left + size, top + size))
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1), min(w0, h0)
    except DataError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {first})") from None


def folder(path: str, size: int = 32, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0,
           use_cache: bool = True) -> ImageData:
    """Images under ``path/<class>/*.png|jpg``; classes are the subfolder names in sorted order."""
    root = Path(path).expanduser()
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        raise DataError(f"size: expected an integer in 1..{MAX_SIZE}, got {size!r}")
    if not root.is_dir():
        raise DataError(f"folder:{path}: not a folder")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files = [(f, c) for c, name in enumerate(classes) for f in sorted((root / name).iterdir())
             if f.suffix.lower() in EXTENSIONS]
    if len(classes) < 2 or not files:
        raise DataError(f"folder:{path}: expected one subfolder per class (at least 2) holding PNG/JPEG images, "
                        f"found {len(classes)} subfolder(s) and {len(files)} image(s)")
    odd = [f for f, _ in files if not f.is_file()]   # dangling links, link loops, FIFOs, devices, folders
    if odd:
        raise DataError(f"{odd[0]}: not a regular image file (a FIFO, device, folder or broken link)"
                        + (f", and {len(odd) - 1} more" if len(odd) > 1 else ""))
    from infra.resources import ResourceError, require_memory
    try:   # uint8 stack, then float32 pixel units and a normalised copy downstream
        require_memory(9.0 * len(files) * 3 * size * size, f"{len(files)} images at --size {size}")
    except ResourceError as exc:
        raise DataError(str(exc)) from None
    stamp = [(str(f.relative_to(root)), f.stat().st_size, f.stat().st_mtime_ns) for f, _ in files]
    config = dict(dataset="folder", root=str(root.resolve()), files=stamp, size=size, val_fraction=val_fraction,
                  test_fraction=test_fraction, seed=seed, version=2)

    def build():
        loaded = [_load_image(f, size) for f, _ in files]
        x = np.stack([a for a, _ in loaded])
        y = np.array([c for _, c in files], dtype=np.int64)
        sp = _split(y, val_fraction, test_fraction, seed)
        # the shorter sides before resizing: nets.analyze warns when --size is far from them
        short = np.array([s for _, s in loaded])
        return ImageData(f"folder:{root.name}", *(a for k in ("train", "val", "test") for a in (x[sp[k]], y[sp[k]])),
                         classes=classes, meta={"root": str(root), "size": size, "source_short_side_median":
                                                int(np.median(short)), "source_short_side_range": [int(short.min()),
                                                                                                     int(short.max())]})

    return cached(config, build) if use_cache else build()


def _check_npz_headers(p: Path, path: str) -> None:
    """Read the declared shapes of ``x`` and ``y`` from the archive's headers (no data) and refuse, before
    anything is decompressed, a file that is not a regular file or whose arrays would not fit in memory (a
    zip bomb or a forged shape)."""
    import stat
    import zipfile
    try:
        if not stat.S_ISREG(os.stat(p).st_mode):
            raise DataError(f"npz:{path}: not a regular file")
        with zipfile.ZipFile(p) as zf:
            total = 0
            for name in ("x.npy", "y.npy"):
                with zf.open(name) as f:
                    version = np.lib.format.read_magic(f)
                    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(f)
                    total += int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    except DataError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"npz:{path}: expected an .npz with arrays x (N, C, H, W) and y (N,) "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    from infra.resources import ResourceError, require_memory
    try:   # the arrays, their float32 pixel-unit copy and a normalised one
        require_memory(3.0 * total, f"npz:{path} (arrays declared in its headers)")
    except ResourceError as exc:
        raise DataError(str(exc)) from None


def npz_file(path: str, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0) -> ImageData:
    """Arrays ``x (N, C, H, W)`` (uint8, or float in pixel units) and ``y (N,)`` integer labels from an .npz
    (read with ``allow_pickle=False``: no code runs from the file)."""
    p = Path(path).expanduser()
    _check_npz_headers(p, path)
    try:
        with np.load(p, allow_pickle=False) as z:
            x, y = z["x"], z["y"]
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DataError(f"npz:{path}: expected an .npz with arrays x (N, C, H, W) and y (N,) "
                        f"({type(exc).__name__}: {exc})") from None
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x):
        raise DataError(f"npz:{path}: y must be N integer labels, got {y.dtype} {y.shape} for {len(x)} images")
    if len(y) == 0 or y.min() < 0 or y.max() >= MAX_CLASSES:
        raise DataError(f"npz:{path}: labels must be in 0..{MAX_CLASSES - 1}"
                        + (f", got {int(y.min())}..{int(y.max())}" if len(y) else ", got none"))
    sp = _split(y, val_fraction, test_fraction, seed)
    K = int(y.max()) + 1
    return ImageData(f"npz:{os.path.basename(path)}", *(a for k in ("train", "val", "test") for a in (x[sp[k]], y[sp[k]])),
                     classes=[str(k) for k in range(K)], meta={"path": str(p)})
