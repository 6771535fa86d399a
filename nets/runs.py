"""One owner of a run folder: its config type, its file names, checkpoints, metric rows and saved maps (building
the data and the model is :mod:`nets.training`'s, measuring a finished run :mod:`nets.measuring`'s). Every
other module reaches a run folder through :class:`Run`.

A run folder (written by ``nets.training.train``, read by everything after it)::

    config.json        {"config": TrainConfig, "provenance", "device", "runtime", "n_train", "n_val", "normalisation"}
    metrics.jsonl      one row per finished epoch
    best.pt, last.pt   checkpoints: tensors and plain Python types only (every load is ``weights_only=True``)
    result.json        the finished run: measured checkpoint, accuracies, stop reason
    sensitivity.npz    the frequency-sensitivity map (mean, se, n); sensitivity.json its summary; .png its figure
    row.json           a sweep's cached analysis row (``nets.experiments.sweep``)
"""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from infra.io import append_text, atomic_save_npz, atomic_write, atomic_write_json, check_readable, read_regular

NAMES = {"config": "config.json", "metrics": "metrics.jsonl", "best": "best.pt", "last": "last.pt",
         "result": "result.json", "map": "sensitivity.npz", "summary": "sensitivity.json",
         "figure": "sensitivity.png", "row": "row.json"}


class TrainError(RuntimeError):
    """A run cannot start, continue or be read; the message says why."""


class TrainDiverged(TrainError):
    """The loss became non-finite: the run stopped after it had started (its folder and last good checkpoint
    are kept), so the command line exits 1, not 2 (the status of input refused before any side effect)."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (appendix C.5), saved in its ``config.json``."""
    model: str = "convactually"
    depth: int | None = None        # None: the model family's default (ConvActually 4); refused where unused
    width: int | None = None        # None: the family's published width; refused where unused
    dataset: str = "embedded"
    data_root: str | None = None
    filter: str | None = None
    n_train: int | None = None      # use the first n of the training split (None: all)
    n_val: int | None = None
    n_test: int | None = None       # evaluate on the first n test images (None: all)
    weight_decay: float = 1e-5      # torch's weight_decay: penalty (weight_decay/2)|w|^2; eq. 4.1 lambda = half
    lr: float = 1e-4
    momentum: float = 0.9
    optimizer: str = "sgd"          # "sgd" (appendix C.5, momentum) or "adam" (coupled L2: same objective, eq. 4.1)
    batch_size: int = 1024
    patience: int = 50
    lr_drops: list[int] | None = None        # None: reduce-on-plateau; else x0.1 at these epochs (fixed calendar)
    max_epochs: int = 500
    min_lr: float = 1e-6
    seed: int = 0
    preset: str = "paper"
    device: str = "auto"
    threads: int = 1
    amp: bool = True                # bfloat16 autocast, CUDA only
    checkpoint: str = "best"        # the model a run reports and is measured on: "best" validation accuracy or "last"
    augment: bool = False           # random flips and translations by up to 4 px (as the released code trains)
    track_epochs: int = 0           # the last N epochs also record the headline map statistics (the settled-map gate)
    track_images: int = 0           # ... on the first M validation images, the same every epoch
    out: str = "runs/run"

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A config from a dict that may hold other keys (presets, CLI namespaces): only the fields are used."""
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def identity(self) -> dict:
        """The fields that define the run (a resume must match them); device/threads/out may differ.
        ``checkpoint`` enters only when not the default, so runs saved before it existed keep their keys."""
        return {k: v for k, v in asdict(self).items() if k not in ("device", "threads", "out", "amp")
                and not (k == "checkpoint" and v == "best") and not (k in _NEW_DEFAULTS and v == _NEW_DEFAULTS[k])}


RECORD_LIMIT = 1 << 26   # bytes: the largest run record (config, metrics, result, summary) read back


def _text(path: Path) -> str:
    """A run record's text, read only if it is a regular file within :data:`RECORD_LIMIT` (a FIFO planted in a
    run folder would hang a plain read)."""
    return read_regular(path, RECORD_LIMIT).decode(errors="replace")


#: the source a trained run depends on (data, models, measures, training and the DFT): part of every sweep
#: task's key, so a change to any of it retrains instead of reusing runs trained by older code
CODE_PATHS = ("nets/data", "nets/models", "nets/measures", "nets/training.py", "nets/runs.py", "nets/measuring.py",
              "nets/runtime.py", "theory/dft.py", "theory/spectra.py")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A 12-hex digest of the files in :data:`CODE_PATHS` (paths and bytes, sorted): the code version a run's
    key and ``config.json`` record and the report prints."""
    import hashlib
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for rel in CODE_PATHS:
        p = root / rel
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


#: fields added after runs were saved: they enter a run's identity only when set, so older runs still resume
_NEW_DEFAULTS = {"augment": False, "track_epochs": 0, "track_images": 0}


def load_checkpoint(path: Path, device="cpu") -> dict:
    """A checkpoint written by ``nets.training.train``, loaded with ``weights_only=True`` (no code runs from the
    file); an unreadable or foreign file raises :class:`TrainError` naming it."""
    import torch
    try:
        check_readable(path, 16 << 30)   # a FIFO would hang torch.load; /dev/zero would read until memory runs out
        ck = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, foreign or crafted files all end here
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise TrainError(f"{path}: not a readable freqsens checkpoint ({type(exc).__name__}: {first})") from None
    if not isinstance(ck, dict) or "model" not in ck:
        raise TrainError(f"{path}: not a freqsens checkpoint (no model state)")
    return ck


class Run:
    """A run folder. ``Run(path).file("config")`` is its ``config.json`` (names in :data:`NAMES`)."""

    def __init__(self, path):
        self.path = Path(path)

    def file(self, name: str) -> Path:
        return self.path / NAMES[name]

    def exists(self, name: str) -> bool:
        return self.file(name).exists()

    # ---- config and result -------------------------------------------------------------------------
    def saved(self) -> dict:
        """The whole ``config.json`` (config, provenance, normalisation, ...)."""
        path = self.file("config")
        try:
            saved = json.loads(_text(path))
        except (OSError, json.JSONDecodeError) as exc:
            raise TrainError(f"{path}: unreadable run config ({type(exc).__name__}: {exc})") from None
        if not isinstance(saved, dict):
            raise TrainError(f"{path}: unreadable run config (expected a JSON object, got {type(saved).__name__})")
        return saved

    def config(self) -> TrainConfig:
        """The :class:`TrainConfig` saved in ``config.json``."""
        try:
            return TrainConfig(**self.saved()["config"])
        except (KeyError, TypeError) as exc:
            raise TrainError(f"{self.file('config')}: unreadable run config ({type(exc).__name__}: {exc})") from None

    def write_config(self, cfg: TrainConfig, **extra) -> None:
        atomic_write_json(self.file("config"), {"config": asdict(cfg), "code_version": code_version(), **extra})

    def result(self) -> dict:
        return json.loads(_text(self.file("result")))

    def write_result(self, result: dict) -> None:
        atomic_write_json(self.file("result"), result)

    # ---- metrics ----------------------------------------------------------------------------------
    def metrics(self) -> list[dict]:
        return [json.loads(line) for line in _text(self.file("metrics")).splitlines() if line]

    def reset_metrics(self) -> None:
        atomic_write(self.file("metrics"), lambda f: f.write(""), "w")

    def append_metrics(self, row: dict) -> None:
        append_text(self.file("metrics"), json.dumps(row) + "\n")   # never through a planted link

    def truncate_metrics(self, last_epoch: int) -> None:
        """Keep the metric rows of epochs <= ``last_epoch`` (rows written after the last checkpoint are redone)."""
        path = self.file("metrics")
        if not path.exists():
            return
        keep = []
        for ln in _text(path).splitlines():
            try:
                if json.loads(ln)["epoch"] <= last_epoch:
                    keep.append(ln)
            except (json.JSONDecodeError, KeyError, TypeError):
                break   # a torn last line from a crash mid-write
        atomic_write(path, lambda f: f.write("".join(k + "\n" for k in keep)), "w")

    # ---- checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self, kind: str, obj: dict) -> None:
        import torch
        atomic_write(self.file(kind), lambda f: torch.save(obj, f))

    def load_checkpoint(self, kind: str, device="cpu") -> dict:
        return load_checkpoint(self.file(kind), device)

    def measured(self, cfg: TrainConfig) -> str:
        """The checkpoint the run reports and is measured on: ``"last"`` for ``checkpoint="last"`` (when it
        trained an epoch; else the initial weights in ``best.pt``), otherwise ``"best"``."""
        return "last" if cfg.checkpoint == "last" and self.exists("last") else "best"

    # ---- maps -------------------------------------------------------------------------------------
    def save_map(self, m, summary: dict, loss_grad: bool = False) -> None:
        """A measure's map (``mean, se, n``) and its summary, next to the checkpoints."""
        stem = "sensitivity_loss" if loss_grad else "sensitivity"
        atomic_save_npz(self.path / f"{stem}.npz", mean=m.mean, se=m.se, n=m.n)
        atomic_write_json(self.path / f"{stem}.json", summary)

    def map(self) -> np.ndarray:
        """The saved sensitivity map's mean ``(C, H, W)``."""
        with np.load(self.file("map"), allow_pickle=False) as z:
            return z["mean"]

    def map_summary(self) -> dict:
        return json.loads(_text(self.file("summary")))
