"""CIFAR-10 from disk: the python-pickle release (``cifar-10-batches-py/``, the layout torchvision uses).

Found through ``data_root`` (``--data-root``) or ``$FREQSENS_DATA``. The batches are pickles, and a
pickle can run code when it is loaded: they are read with a restricted unpickler that admits exactly
what the official release contains (a dict with bytes keys, lists of ints, bytes, and numpy's array
reconstruction; ``_codecs.encode`` for copies re-pickled by Python 3 at protocol 2) and refuses anything else, before anything from the file runs. Pixels must be uint8 and
labels integers in 0..9: a file that holds anything else is reported, never cast.
"""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np

from infra.io import ReadError, read_regular
from nets.data.base import DataError, ImageData

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# (module, name) pairs the official release needs to rebuild its numpy arrays; nothing callable besides
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode")}   # bytes in a protocol-2 pickle written by Python 3 (text -> bytes, runs nothing)


class _CifarUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the numpy array reconstruction the CIFAR release uses."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused global {module}.{name} (not part of a CIFAR-10 batch)")


def safe_load_batch(raw: bytes):
    """Unpickle one CIFAR batch's bytes with the restricted unpickler (``encoding="bytes"`` as released)."""
    return _CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()


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


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> ``(x (n, 3, 32, 32) uint8, y (n,) int64)``; any other content raises DataError."""
    if not path.exists():
        raise DataError(f"CIFAR-10 copy at {path.parent} is partial: {path.name} is missing "
                        f"(re-extract {CIFAR_URL})")
    bad = f"CIFAR-10 file {path} is corrupt or not a CIFAR batch"
    try:
        # a regular file of at most 64 MB (a batch is ~31 MB): a FIFO or /dev/zero planted there is refused
        d = safe_load_batch(read_regular(path, 64 << 20))
        data, labels = d[b"data"], d[b"labels"]
    except ReadError as exc:
        raise DataError(f"{exc}; re-extract {CIFAR_URL}") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise DataError(f"{bad} ({type(exc).__name__}: {exc}); re-extract {CIFAR_URL}") from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise DataError(f"{bad}: pixels must be a uint8 array, got {getattr(data, 'dtype', type(data).__name__)}")
    if isinstance(labels, np.ndarray):
        ok = np.issubdtype(labels.dtype, np.integer)
    else:
        # a label of 2**70 would overflow int64 below: the range is checked on the Python ints first
        ok = isinstance(labels, list) and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 9
                                              for v in labels)
    if not ok:
        raise DataError(f"{bad}: labels must be integers")
    labels = np.asarray(labels, dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],) or \
            (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise DataError(f"CIFAR-10 file {path} has unexpected contents: data {data.shape}, labels {labels.shape} "
                        "(expected (n, 3072) uint8 and n labels in 0..9)")
    return data.reshape(-1, 3, 32, 32), labels


def cifar10(root=None, val_fraction: float = 0.1, seed: int = 0) -> ImageData:
    """CIFAR-10 from the python-pickle release: canonical train/test split (appendix C.4), with a
    seeded validation split of ``val_fraction`` carved from the 50,000 training images."""
    if not (isinstance(val_fraction, (int, float)) and 0 < val_fraction < 1):
        raise DataError(f"val_fraction: expected a number in (0, 1), got {val_fraction!r}")
    d = find_cifar10(root)
    parts = [read_batch(d / f"data_batch_{i}") for i in range(1, 6)]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    x_test, y_test = read_batch(d / "test_batch")
    perm = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(val_fraction * len(x)))
    val, train = perm[:n_val], perm[n_val:]
    return ImageData("cifar10", x[train], y[train], x[val], y[val], x_test, y_test, list(CIFAR_CLASSES),
                     meta={"root": str(d), "val_fraction": val_fraction, "seed": seed})
