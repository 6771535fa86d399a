"""Datasets: the container, normalisation (appendix C.1), caching, CIFAR-10 from disk, and a name registry.

Every dataset is an :class:`ImageData`: train / validation / test arrays ``(N, C, H, W)`` with integer
labels, plus the per-channel mean and std of the *training* split (appendix C.1), computed once when
the dataset is built and stored with it; they are never recomputed from evaluation data.

Names understood by :func:`load_dataset` (and every CLI's ``--dataset``):

* ``embedded`` - natural-photograph patches that ship inside scikit-image / scikit-learn (``nets.embedded``);
* ``cifar10`` - the python-pickle CIFAR-10 release from ``--data-root`` or ``$FREQSENS_DATA``;
* ``synthetic:grf`` / ``synthetic:deadleaves`` with options, e.g. ``synthetic:grf?alpha=1.5&n_train=2000``
  (``nets.synthetic``).

Spectral filters (``nets.synthetic.apply_filter``) turn any of them into a new ``ImageData``.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


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
        shapes = {self.x_train.shape[1:], self.x_val.shape[1:], self.x_test.shape[1:]}
        if len(shapes) != 1:
            raise DataError(f"{self.name}: splits have different image shapes {shapes}")
        if self.mean is None:
            self.mean, self.std = channel_stats(self.x_train)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

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


def check_images(name: str, x) -> np.ndarray:
    """Images must be ``(N, C, H, W)`` uint8 or floating point, finite."""
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise DataError(f"{name}: expected an array of images (N, C, H, W), got "
                        f"{getattr(x, 'shape', type(x).__name__)}")
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{name}: expected uint8 or floating-point pixels, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.floating) and x.size and not np.isfinite(x).all():
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
    """Where built datasets are cached: ``$FREQSENS_CACHE`` or ``~/.cache/freqsens``."""
    return Path(os.environ.get("FREQSENS_CACHE", Path.home() / ".cache" / "freqsens"))


def config_key(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def save_npz(path: Path, data: ImageData) -> None:
    """Write a dataset atomically (temp file + rename) with its normalisation and metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        arrays = {k: getattr(data, k) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test",
                                                 "mean", "std")}
        arrays.update({f"meta__{k}": v for k, v in data.meta.items() if isinstance(v, np.ndarray)})
        meta = {k: v for k, v in data.meta.items() if not isinstance(v, np.ndarray)}
        np.savez(f, **arrays, header=json.dumps({"name": data.name, "classes": data.classes, "meta": meta}))
    os.replace(tmp, path)


def load_npz(path: Path) -> ImageData:
    try:
        with np.load(path) as z:
            header = json.loads(str(z["header"]))
            arrays = {k: z[k] for k in z.files if k != "header" and not k.startswith("meta__")}
            header["meta"].update({k[len("meta__"):]: z[k] for k in z.files if k.startswith("meta__")})
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise DataError(f"cached dataset {path} is unreadable ({exc}); delete it to rebuild") from None
    return ImageData(name=header["name"], classes=header["classes"], meta=header["meta"], **arrays)


def cached(config: dict, build) -> ImageData:
    """Return the dataset for ``config`` from the cache, building and caching it when absent."""
    path = cache_dir() / f"{config['dataset']}-{config_key(config)}.npz"
    if path.exists():
        return load_npz(path)
    data = build()
    data.meta["config"] = config
    try:
        save_npz(path, data)
    except OSError:  # a read-only cache must not stop the run; the data is still returned
        pass
    return data


# ---- CIFAR-10 from disk ------------------------------------------------------------------

def find_cifar10(root: str | os.PathLike | None = None) -> Path:
    """Locate ``cifar-10-batches-py``: ``root`` (the folder itself or its parent) or ``$FREQSENS_DATA``."""
    tried = []
    candidates = [root] if root is not None else []
    if root is None and os.environ.get("FREQSENS_DATA"):
        candidates.append(os.environ["FREQSENS_DATA"])
    for c in candidates:
        for p in (Path(c), Path(c) / "cifar-10-batches-py"):
            tried.append(str(p))
            if (p / "data_batch_1").exists() or (p / "test_batch").exists():
                return p
    where = ", ".join(tried) if tried else "nowhere (no --data-root given and FREQSENS_DATA is unset)"
    raise DataError(f"CIFAR-10 not found: looked in {where}. Download the python version ({CIFAR_URL}), "
                    "extract it, and pass --data-root DIR (the folder holding cifar-10-batches-py) or set "
                    "FREQSENS_DATA=DIR.")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.exists():
        raise DataError(f"CIFAR-10 copy at {path.parent} is partial: {path.name} is missing "
                        f"(re-extract {CIFAR_URL})")
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        data = np.asarray(d[b"data"], dtype=np.uint8)
        labels = np.asarray(d[b"labels"], dtype=np.int64)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise DataError(f"CIFAR-10 file {path} is corrupt or not a CIFAR batch ({type(exc).__name__}: {exc}); "
                        f"re-extract {CIFAR_URL}") from None
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],) or \
            (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise DataError(f"CIFAR-10 file {path} has unexpected contents: data {data.shape}, labels {labels.shape} "
                        "(expected (n, 3072) uint8 and n labels in 0..9)")
    return data.reshape(-1, 3, 32, 32), labels


def cifar10(root=None, val_fraction: float = 0.1, seed: int = 0) -> ImageData:
    """CIFAR-10 from the python-pickle release: canonical train/test split (appendix C.4), with a
    seeded validation split of ``val_fraction`` carved from the 50,000 training images."""
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction: expected a number in (0, 1), got {val_fraction}")
    d = find_cifar10(root)
    parts = [_read_cifar_batch(d / f"data_batch_{i}") for i in range(1, 6)]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    x_test, y_test = _read_cifar_batch(d / "test_batch")
    perm = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(val_fraction * len(x)))
    val, train = perm[:n_val], perm[n_val:]
    return ImageData("cifar10", x[train], y[train], x[val], y[val], x_test, y_test, list(CIFAR_CLASSES),
                     meta={"root": str(d), "val_fraction": val_fraction, "seed": seed})


# ---- registry ----------------------------------------------------------------------------

def parse_name(spec: str) -> tuple[str, dict]:
    """``"synthetic:grf?alpha=1.5&n_train=100"`` -> ``("synthetic:grf", {"alpha": 1.5, "n_train": 100})``."""
    base, _, query = spec.partition("?")
    opts = {}
    for item in filter(None, query.split("&")):
        k, eq, v = item.partition("=")
        if not eq:
            raise DataError(f"dataset {spec!r}: option {item!r} is not of the form key=value")
        try:
            opts[k] = int(v)
        except ValueError:
            try:
                opts[k] = float(v)
            except ValueError:
                opts[k] = v
    return base, opts


DATASETS = ("embedded", "cifar10", "synthetic:grf", "synthetic:deadleaves")


def load_dataset(spec: str, data_root=None, seed: int = 0, **overrides) -> ImageData:
    """Load a dataset by name (see module docstring); unknown names raise :class:`DataError`."""
    base, opts = parse_name(spec)
    opts.update(overrides)
    if base == "embedded":
        from nets.embedded import embedded
        return _call(embedded, spec, opts, seed=seed)
    if base == "cifar10":
        return _call(cifar10, spec, opts, root=data_root, seed=seed)
    if base in ("synthetic:grf", "synthetic:deadleaves"):
        from nets.synthetic import synthetic
        return _call(synthetic, spec, opts, kind=base.split(":", 1)[1], seed=seed)
    raise DataError(f"dataset: unknown name {spec!r}; expected one of {', '.join(DATASETS)}")


def _call(fn, spec: str, opts: dict, **fixed):
    import inspect
    params = inspect.signature(fn).parameters
    unknown = [k for k in opts if k not in params or k in fixed]
    if unknown:
        allowed = [p for p in params if p not in fixed]
        raise DataError(f"dataset {spec!r}: unknown option(s) {unknown}; allowed: {allowed}")
    return fn(**fixed, **opts)
