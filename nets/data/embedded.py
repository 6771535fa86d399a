"""The embedded default dataset: 32x32 patches of photographs that ship inside pip packages.

No network at run time: scikit-image bundles the photographs in its wheel, scikit-learn ships
``china`` and ``flower``. Ten photographs, ten classes (label = source photograph):
astronaut, chelsea, coffee, rocket, motorcycle (left stereo view), china, flower,
hubble_deep_field, immunohistochemistry, retina.

Disjoint splits: each photograph is cut into ``block x block`` tiles; a seeded permutation assigns
tiles to test (``test_frac``), validation (``val_frac``) and train (the rest), at least one of each.
Every patch lies entirely inside one tile, so no test pixel is ever in a train or validation patch.
With ``scale = s > 1`` each patch is cut at ``s * patch`` pixels and area-averaged down to ``patch``
(like a downsampled photograph: CIFAR-10's images are downsampled). Patches are drawn at uniformly random positions inside random tiles of their split (overlapping
within a split, like random-crop augmentation); near-constant patches (pixel std < ``min_std``
on the 0-255 scale, e.g. retina's black border) are rejected. Classes are balanced.
"""
from __future__ import annotations

import time

import numpy as np

from nets.data.base import DataError, ImageData, cached

PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "motorcycle", "china", "flower",
          "hubble_deep_field", "immunohistochemistry", "retina"]


def load_photo(name: str) -> np.ndarray:
    """One bundled photograph as ``(H, W, 3)`` uint8 (offline: read from the installed wheels)."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image
        return load_sample_image(f"{name}.jpg")
    from skimage import data
    if name == "motorcycle":
        return data.stereo_motorcycle()[0]
    if name not in PHOTOS:
        raise DataError(f"photo: unknown name {name!r}; expected one of {PHOTOS}")
    return getattr(data, name)()


def split_tiles(shape, block: int, test_frac: float, val_frac: float, rng) -> dict[str, np.ndarray]:
    """Tile origins ``(n, 2)`` per split for an image of ``shape`` (tiles of ``block`` pixels, disjoint)."""
    ty, tx = shape[0] // block, shape[1] // block
    if ty * tx < 3:
        raise DataError(f"image of shape {shape[:2]} has fewer than 3 tiles of {block} pixels")
    origins = np.stack(np.meshgrid(np.arange(ty) * block, np.arange(tx) * block, indexing="ij"), -1).reshape(-1, 2)
    origins = origins[rng.permutation(len(origins))]
    n_test = max(1, int(round(test_frac * len(origins))))
    n_val = max(1, int(round(val_frac * len(origins))))
    return {"test": origins[:n_test], "val": origins[n_test:n_test + n_val], "train": origins[n_test + n_val:]}


def sample_patches(img: np.ndarray, tiles: np.ndarray, n: int, patch: int, block: int, min_std: float,
                   rng) -> tuple[np.ndarray, np.ndarray]:
    """``n`` patches ``(n, 3, patch, patch)`` uint8 from random positions inside ``tiles``, and their
    top-left positions ``(n, 2)``; near-constant patches are redrawn."""
    from numpy.lib.stride_tricks import sliding_window_view
    windows = sliding_window_view(img, (patch, patch), axis=(0, 1))  # (H-p+1, W-p+1, 3, p, p)
    out, pos, tries = [], [], 0
    while sum(len(o) for o in out) < n:
        m = 2 * (n - sum(len(o) for o in out)) + 16
        t = tiles[rng.integers(0, len(tiles), m)]
        yx = t + rng.integers(0, block - patch + 1, (m, 2))
        p = windows[yx[:, 0], yx[:, 1]]
        ok = p.reshape(m, -1).std(axis=1) >= min_std
        out.append(p[ok])
        pos.append(yx[ok])
        tries += 1
        if tries > 50:
            raise DataError(f"could not find {n} patches with pixel std >= {min_std} in the given tiles")
    return np.concatenate(out)[:n], np.concatenate(pos)[:n]


def embedded(n_train: int = 50000, n_val: int = 5000, n_test: int = 10000, seed: int = 0, patch: int = 32,
             block: int = 96, test_frac: float = 0.15, val_frac: float = 0.1, min_std: float = 4.0, scale: int = 1,
             use_cache: bool = True) -> ImageData:
    """Build (or load from cache) the embedded dataset; sizes are totals over the 10 balanced classes.

    Deterministic from ``seed``; cached under ``nets.data.cache_dir()`` keyed by every argument.
    Returns an :class:`ImageData` with uint8 images ``(N, 3, patch, patch)``; ``meta`` holds patch
    positions per split (``pos_*``: photo index, y, x) so disjointness can be verified.
    """
    for name, v in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if not isinstance(v, (int, np.integer)) or v < len(PHOTOS):
            raise DataError(f"{name}: expected an integer >= {len(PHOTOS)} (one per class), got {v!r}")
    if not (isinstance(scale, int) and scale >= 1):
        raise DataError(f"scale: expected an integer >= 1, got {scale!r}")
    if not (isinstance(patch, int) and 1 <= patch * scale <= block):
        raise DataError(f"patch: expected an integer with 1 <= patch * scale <= block={block}, got {patch!r}")
    if not (0 < test_frac < 1 and 0 < val_frac < 1 and test_frac + val_frac < 1):
        raise DataError(f"test_frac, val_frac: expected positive fractions summing below 1, got {test_frac}, {val_frac}")
    config = dict(dataset="embedded", n_train=int(n_train), n_val=int(n_val), n_test=int(n_test), seed=int(seed),
                  patch=patch, block=block, test_frac=test_frac, val_frac=val_frac, min_std=min_std, scale=scale,
                  version=1)

    def build() -> ImageData:
        t0 = time.time()
        splits = {s: ([], [], []) for s in ("train", "val", "test")}
        sizes = {"train": n_train, "val": n_val, "test": n_test}
        for c, photo in enumerate(PHOTOS):
            img = load_photo(photo)
            rng = np.random.default_rng([seed, c])
            tiles = split_tiles(img.shape, block, test_frac, val_frac, rng)
            for s, total in sizes.items():
                k = total // len(PHOTOS) + (1 if c < total % len(PHOTOS) else 0)
                x, yx = sample_patches(img, tiles[s], k, patch * scale, block, min_std, rng)
                if scale > 1:  # area-average s x s pixel blocks, like a downsampled photograph
                    x = x.reshape(k, 3, patch, scale, patch, scale).mean(axis=(3, 5)).round().astype(np.uint8)
                splits[s][0].append(x)
                splits[s][1].append(np.full(k, c, dtype=np.int64))
                splits[s][2].append(np.column_stack([np.full(k, c), yx]))
        arrays, meta = {}, {"build_seconds": None}
        for s, (xs, ys, ps) in splits.items():
            perm = np.random.default_rng([seed, 99, len(s)]).permutation(sum(len(y) for y in ys))
            arrays[f"x_{s}"] = np.ascontiguousarray(np.concatenate(xs)[perm])
            arrays[f"y_{s}"] = np.concatenate(ys)[perm]
            meta[f"pos_{s}"] = np.concatenate(ps)[perm]
        meta["build_seconds"] = round(time.time() - t0, 3)
        meta["photos"] = PHOTOS
        return ImageData("embedded", classes=list(PHOTOS), meta=meta, **arrays)

    return cached(config, build) if use_cache else build()
