"""Training (appendix C.5): SGD momentum 0.9, weight decay, reduce-on-plateau, resumable.

    python -m nets.train --model convactually --depth 4 --weight-decay 1e-5 --preset quick --out runs/ca4

* Weight decay: ``TrainConfig.weight_decay`` is torch's ``weight_decay``, which adds ``weight_decay * w`` to
  the gradient, i.e. the penalty ``(weight_decay / 2) sum |w|^2``. Eq. 4.1's ``lambda`` is therefore
  ``weight_decay / 2``: :func:`eq41_lambda` is the one place that converts.
* Learning rate x0.1 after ``patience`` epochs without validation-loss improvement (or, with ``lr_drops``,
  at those epochs); stop when it falls below ``min_lr`` or after ``max_epochs``. The reported (and later
  measured) model is ``checkpoint``: ``"best"``, the epoch with the best validation accuracy (validation
  carved from the training data), or ``"last"``, the model at the end of the schedule; the test split is
  only evaluated once, at the end, on that model.
* Every epoch appends to ``metrics.jsonl``, then writes ``last.pt`` atomically (model, optimizer, scheduler,
  epoch, config: tensors and plain Python types only, so every load uses ``weights_only=True`` and a
  crafted checkpoint cannot run code). ``--resume`` drops metric rows newer than the checkpoint and
  continues exactly (the data order of epoch e is a function of ``(seed, e)``), so a seeded CPU run is
  bit-identical whether or not it was interrupted, and no epoch's row is lost or repeated.
* A non-finite loss stops the run with a clear message; the last good checkpoint is kept.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from infra.io import atomic_write, atomic_write_json, crash_point, provenance
from nets.runtime import configure

PRESETS = ("quick", "paper")
class TrainError(RuntimeError):
    """Training cannot start or continue; the message says why."""


@dataclass
class TrainConfig:
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
    out: str = "runs/run"

    def identity(self) -> dict:
        """The fields that define the run (a resume must match them); device/threads/out may differ.
        ``checkpoint`` enters only when not the default, so runs saved before it existed keep their keys."""
        return {k: v for k, v in asdict(self).items() if k not in ("device", "threads", "out", "amp")
                and not (k == "checkpoint" and v == "best")}


def eq41_lambda(weight_decay: float) -> float:
    """Eq. 4.1's ``lambda`` (penalty ``lambda sum |w|^2``) for torch's ``weight_decay`` (penalty
    ``(weight_decay / 2) sum |w|^2``): ``weight_decay / 2``. The one conversion in the project."""
    return weight_decay / 2


def preset_defaults(preset: str, model: str) -> dict:
    """The training hyperparameters a model family declares for ``preset`` (``nets.models``)."""
    from nets.models import get_model_spec
    if preset not in PRESETS:
        raise TrainError(f"preset: unknown {preset!r}; expected one of {PRESETS}")
    try:
        return get_model_spec(model).hyperparameters(preset)
    except ValueError as exc:
        raise TrainError(str(exc)) from None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError(f"device: {name!r} requested but CUDA is not available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise TrainError(f"device: expected auto, cpu or cuda[:N], got {name!r}") from None


def load_data(cfg: TrainConfig):
    """The dataset a run trains on (``nets.data.load``: name, options, the run's split sizes, filter; a
    whitening or inversion filter therefore uses tau of the run's own training images)."""
    from nets.data import load
    return load(cfg.dataset, data_root=cfg.data_root, seed=cfg.seed, filter=cfg.filter,
                limits=(cfg.n_train, cfg.n_val, cfg.n_test))


def _tensors(data, split: str, n: int | None, device):
    x, y = data.split(split)
    x = data.normalised(split)[:n]
    return torch.from_numpy(np.ascontiguousarray(x)).to(device), torch.from_numpy(y[:n].astype(np.int64)).to(device)


def evaluate(model, x, y, batch_size: int = 500, amp: bool = False) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on tensors ``x, y`` (eval mode, no grad)."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        for s in range(0, len(x), batch_size):
            out = model(x[s:s + batch_size]).float()
            loss += float(torch.nn.functional.cross_entropy(out, y[s:s + batch_size], reduction="sum"))
            correct += int((out.argmax(1) == y[s:s + batch_size]).sum())
    return loss / len(x), correct / len(x)


def _save(path: Path, obj) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: Path, device="cpu") -> dict:
    """A checkpoint written by :func:`train`, loaded with ``weights_only=True`` (no code runs from the file);
    an unreadable or foreign file raises :class:`TrainError` naming it."""
    try:
        ck = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, foreign or crafted files all end here
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise TrainError(f"{path}: not a readable freqsens checkpoint ({type(exc).__name__}: {first})") from None
    if not isinstance(ck, dict) or "model" not in ck:
        raise TrainError(f"{path}: not a freqsens checkpoint (no model state)")
    return ck


def _truncate_metrics(path: Path, last_epoch: int) -> None:
    """Keep the metric rows of epochs <= ``last_epoch`` (rows written after the last checkpoint are redone)."""
    if not path.exists():
        return
    keep = []
    for ln in path.read_text().splitlines():
        try:
            if json.loads(ln)["epoch"] <= last_epoch:
                keep.append(ln)
        except (json.JSONDecodeError, KeyError, TypeError):
            break   # a torn last line from a crash mid-write
    atomic_write(path, lambda f: f.write("".join(k + "\n" for k in keep)), "w")


def make_model(cfg: TrainConfig, shape, classes: int):
    from nets.models import build_model
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model, cfg.depth, cfg.width, shape[0], classes, tuple(shape[1:]))


def train(cfg: TrainConfig, resume: bool = False, data=None, progress: bool = True) -> dict:
    """Train per ``cfg`` into ``cfg.out``; returns the result dict also written to ``result.json``.
    The run folder is locked for the whole call (``infra.io.FolderLock``): a second writer gets TrainError."""
    from infra.io import FolderLock, LockError, check_writable_folder
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise TrainError(f"--out {out}: is a file, expected a folder")
    # everything is validated before anything is written: the folder, the device, the data
    if (out / "config.json").exists():
        try:
            saved = json.loads((out / "config.json").read_text())["config"]
        except (json.JSONDecodeError, KeyError, TypeError, OSError) as exc:
            raise TrainError(f"{out / 'config.json'}: unreadable run config ({type(exc).__name__}: {exc})") from None
        mine = cfg.identity()
        if {k: saved.get(k) for k in mine} != mine:
            diff = {k: (saved.get(k), v) for k, v in mine.items() if saved.get(k) != v}
            raise TrainError(f"{out} holds a run with a different config {diff}; use another --out")
        if not resume and (out / "result.json").exists():
            return json.loads((out / "result.json").read_text())
        if not resume:
            raise TrainError(f"{out} holds an unfinished run; pass --resume to continue it or use another --out")
    elif out.exists() and any(p.name != ".freqsens.lock" for p in out.iterdir()):
        raise TrainError(f"--out {out}: not a freqsens run folder (no config.json) and not empty; "
                         "nothing was changed there: use a new or empty folder")
    resolve_device(cfg.device)
    try:
        check_writable_folder(out)
        data = data if data is not None else load_data(cfg)
        lock = FolderLock(out).acquire()
    except LockError as exc:
        raise TrainError(f"--out: {exc}") from None
    try:
        return _train(cfg, resume, data, progress)
    finally:
        lock.release()


def _train(cfg: TrainConfig, resume: bool, data, progress: bool) -> dict:
    out = Path(cfg.out)
    runtime = configure(cfg.threads)
    device = resolve_device(cfg.device)
    amp = cfg.amp and device.type == "cuda"
    xtr, ytr = _tensors(data, "train", cfg.n_train, device)
    xva, yva = _tensors(data, "val", cfg.n_val, device)
    model = make_model(cfg, data.shape, len(data.classes)).to(device)
    if cfg.optimizer == "adam":
        # torch's Adam adds weight_decay * w to the gradient (not AdamW's decoupled step), so a converged run
        # minimises the same penalised loss (eq. 4.1) as SGD; it only gets there in fewer CPU minutes
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        raise TrainError(f"optimizer: expected 'sgd' or 'adam', got {cfg.optimizer!r}")
    if cfg.checkpoint not in ("best", "last"):
        raise TrainError(f"checkpoint: expected 'best' or 'last', got {cfg.checkpoint!r}")
    if cfg.lr_drops:
        # the paper's x0.1 steps on a fixed calendar: a short budget cannot wait for plateaus, and the last
        # epochs at lr / 100 let the training loss settle (the learning gate checks that it did)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.lr_drops), gamma=0.1)
    else:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=cfg.patience)
    out.mkdir(parents=True, exist_ok=True)
    start, best = 0, {"val_acc": -1.0, "epoch": -1}
    if not (resume and (out / "last.pt").exists()):
        # the initial weights are the "best" until an epoch beats them: max_epochs = 0 gives the untrained
        # model (the experiments' baseline for what initialisation alone does to a sensitivity map)
        _save(out / "best.pt", {"model": model.state_dict(), "epoch": -1, "config": asdict(cfg)})
    if resume and (out / "last.pt").exists():
        ck = load_checkpoint(out / "last.pt", device)
        try:
            model.load_state_dict(ck["model"])
        except RuntimeError as exc:
            raise TrainError(f"{out / 'last.pt'} does not fit model {cfg.model!r}: {str(exc).splitlines()[0]}") from None
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start, best = ck["epoch"] + 1, ck["best"]
        _truncate_metrics(out / "metrics.jsonl", ck["epoch"])
    else:
        atomic_write_json(out / "config.json", {"config": asdict(cfg), "provenance": provenance(),
                                                "device": str(device), "runtime": runtime, "n_train": len(xtr),
                                                "n_val": len(xva),
                                                # [0, 1]-pixel statistics of the normalisation: sensitivity per
                                                # pixel unit is the map over std_c (unfiltered data only)
                                                "normalisation": {"mean": np.asarray(data.mean, float).tolist(),
                                                                  "std": np.asarray(data.std, float).tolist(),
                                                                  "pixel_units": cfg.filter is None}})
        (out / "metrics.jsonl").write_text("")
    from tqdm import tqdm
    stop_reason, last_done = "max_epochs", start - 1
    for epoch in range(start, cfg.max_epochs):
        if opt.param_groups[0]["lr"] < cfg.min_lr * (1 - 1e-9):
            stop_reason = "min_lr"
            break
        t0 = time.time()
        model.train()
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)   # data order = f(seed, epoch)
        perm = torch.randperm(len(xtr), generator=g).to(device)
        tot, correct, n = 0.0, 0, 0
        bar = tqdm(range(0, len(xtr), cfg.batch_size), desc=f"epoch {epoch}", leave=False, disable=not (progress and sys.stderr.isatty()),
                   file=sys.stderr)
        for s in bar:
            idx = perm[s:s + cfg.batch_size]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(xtr[idx]).float()
            loss = torch.nn.functional.cross_entropy(logits, ytr[idx])
            if not torch.isfinite(loss):
                raise TrainError(f"non-finite loss ({float(loss)}) at epoch {epoch}; stopped. The last good "
                                 f"checkpoint ({out / 'last.pt'}, epoch {epoch - 1}) is kept; lower --lr.")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
            correct += int((logits.argmax(1) == ytr[idx]).sum())
            n += len(idx)
        val_loss, val_acc = evaluate(model, xva, yva, amp=amp)
        # the last two epochs also measure the training loss of the model itself (eval mode, whole training
        # split), not the running average along the epoch: what the experiments' learning gate compares
        fit = {"train_loss_end": evaluate(model, xtr, ytr, amp=amp)[0]} if epoch >= cfg.max_epochs - 2 else {}
        sched.step() if cfg.lr_drops else sched.step(val_loss)
        rec = {"epoch": epoch, "train_loss": tot / n, "train_acc": correct / n, "val_loss": val_loss,
               "val_acc": val_acc, "lr": opt.param_groups[0]["lr"], "seconds": round(time.time() - t0, 3),
               "images_per_s": round(n / (time.time() - t0), 1), **fit}
        # the metrics row first: a crash before the checkpoint repeats this epoch, and resume drops the row
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")
        crash_point("metrics")
        if val_acc > best["val_acc"]:
            best = {"val_acc": val_acc, "epoch": epoch}
            _save(out / "best.pt", {"model": model.state_dict(), "epoch": epoch, "config": asdict(cfg)})
            crash_point("best")
        _save(out / "last.pt", {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict(), "epoch": epoch, "best": best, "config": asdict(cfg)})
        crash_point("last")
        last_done = epoch
        if progress:
            print(f"[train] {out.name} epoch {epoch}: train {rec['train_acc']:.3f} val {val_acc:.3f} "
                  f"lr {rec['lr']:.1e} ({rec['seconds']:.1f} s)", file=sys.stderr)
    if cfg.checkpoint == "best":
        model.load_state_dict(load_checkpoint(out / "best.pt", device)["model"])
    measured = best["epoch"] if cfg.checkpoint == "best" else last_done
    xte, yte = _tensors(data, "test", cfg.n_test, device)
    test_loss, test_acc = evaluate(model, xte, yte, amp=amp)
    chance = float(torch.bincount(yte).max() / len(yte)) if len(yte) else float("nan")   # most frequent class
    val_acc = best["val_acc"] if cfg.checkpoint == "best" else evaluate(model, xva, yva, amp=amp)[1]
    result = {"config": asdict(cfg), "best_epoch": best["epoch"], "val_acc": val_acc, "test_acc": test_acc,
              "checkpoint": cfg.checkpoint, "measured_epoch": measured,
              "chance": chance,
              "test_loss": test_loss, "stop_reason": stop_reason, "device": str(device),
              "parameters": sum(p.numel() for p in model.parameters())}
    atomic_write_json(out / "result.json", result)
    return result


def load_trained(run_dir, device="cpu", data=None):
    """``(model, cfg, data)`` of a finished run: the weights of its ``checkpoint`` rule (best validation
    accuracy, or the end of the schedule: ``last.pt``, or the initial weights when it trained no epoch).
    ``data``: pass the run's dataset if already loaded, else it is loaded from the run's config."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists() or not (run_dir / "best.pt").exists():
        raise TrainError(f"{run_dir}: not a finished freqsens run (needs config.json and best.pt)")
    cfg = read_config(run_dir)
    data = data if data is not None else load_data(cfg)
    model = make_model(cfg, data.shape, len(data.classes))
    weights = run_dir / ("last.pt" if cfg.checkpoint == "last" and (run_dir / "last.pt").exists() else "best.pt")
    model.load_state_dict(load_checkpoint(weights, device)["model"])
    return model.to(device).eval(), cfg, data


def read_config(run_dir) -> TrainConfig:
    """The :class:`TrainConfig` saved in a run folder's ``config.json``."""
    path = Path(run_dir) / "config.json"
    try:
        return TrainConfig(**json.loads(path.read_text())["config"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise TrainError(f"{path}: unreadable run config ({type(exc).__name__}: {exc})") from None
