"""Training (appendix C.5): SGD momentum 0.9, weight decay, reduce-on-plateau, resumable.

    python -m nets.train --model convactually --depth 4 --lam 1e-5 --preset quick --out runs/ca4

* Weight decay uses torch's convention: ``weight_decay = lam`` adds ``lam * w`` to the gradient, i.e. the
  penalty ``(lam / 2) sum |w|^2``; eq. 4.1's ``lambda`` is therefore ``lam / 2`` (``nets.compare`` uses that).
* Learning rate x0.1 after ``patience`` epochs without validation-loss improvement; stop when it falls below
  ``min_lr`` or after ``max_epochs``. Model selection: the epoch with the best validation accuracy
  (validation carved from the training data; the test split is only evaluated once, at the end).
* Every epoch writes ``last.pt`` atomically (model, optimizer, scheduler, RNG states, epoch, config) and
  appends to ``metrics.jsonl``; ``--resume`` continues exactly (the data order of epoch e is a function of
  ``(seed, e)``), so a seeded CPU run is bit-identical whether or not it was interrupted.
* A non-finite loss stops the run with a clear message; the last good checkpoint is kept.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from nets.runtime import configure
from theory._io import atomic_write_json, provenance

PRESETS = ("quick", "paper")
# published hyperparameters (appendix C.5); ConvActually's batch is 1028 in the appendix, 1024 in the code
PAPER = {
    "convactually": dict(batch_size=1024, lr=1e-4, patience=50, max_epochs=500),
    "linearcnn": dict(batch_size=1024, lr=1e-4, patience=50, max_epochs=500),
    "myrtle": dict(batch_size=512, lr=1e-4, patience=20, max_epochs=500),
    "resnet": dict(batch_size=512, lr=0.1, patience=20, max_epochs=500),
}
# minutes on 2 CPU cores, same code path: small data, few epochs, larger steps
QUICK = {
    "convactually": dict(batch_size=128, lr=3e-4, patience=2, max_epochs=6, n_train=4000, n_val=1000, n_test=2000, width=32),
    "linearcnn": dict(batch_size=128, lr=3e-4, patience=2, max_epochs=6, n_train=4000, n_val=1000, n_test=2000, width=8),
    "myrtle": dict(batch_size=128, lr=0.02, patience=2, max_epochs=4, n_train=3000, n_val=500, n_test=1000),
    "resnet": dict(batch_size=128, lr=0.05, patience=2, max_epochs=4, n_train=3000, n_val=500, n_test=1000),
}


class TrainError(RuntimeError):
    """Training cannot start or continue; the message says why."""


@dataclass
class TrainConfig:
    model: str = "convactually"
    depth: int | None = 4
    width: int = 64
    dataset: str = "embedded"
    data_root: str | None = None
    filter: str | None = None
    n_train: int | None = None      # use the first n of the training split (None: all)
    n_val: int | None = None
    n_test: int | None = None       # evaluate on the first n test images (None: all)
    lam: float = 1e-5               # torch weight_decay (penalty lam/2 |w|^2)
    lr: float = 1e-4
    momentum: float = 0.9
    batch_size: int = 1024
    patience: int = 50
    max_epochs: int = 500
    min_lr: float = 1e-6
    seed: int = 0
    preset: str = "paper"
    device: str = "auto"
    threads: int = 1
    amp: bool = True                # bfloat16 autocast, CUDA only
    out: str = "runs/run"

    def identity(self) -> dict:
        """The fields that define the run (a resume must match them); device/threads/out may differ."""
        return {k: v for k, v in asdict(self).items() if k not in ("device", "threads", "out", "amp")}


def preset_defaults(preset: str, model: str) -> dict:
    if preset not in PRESETS:
        raise TrainError(f"preset: unknown {preset!r}; expected one of {PRESETS}")
    family = "resnet" if model.startswith("resnet") else model
    table = PAPER if preset == "paper" else QUICK
    if family not in table:
        from nets.models import MODELS
        raise TrainError(f"model: unknown name {model!r}; expected one of {', '.join(MODELS)} (or resnet6n+2)")
    return dict(table[family])


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError(f"device: {name!r} requested but CUDA is not available")
    return torch.device(name)


def load_data(cfg: TrainConfig):
    from nets.data import load_dataset
    from nets.synthetic import apply_filter
    data = load_dataset(cfg.dataset, data_root=cfg.data_root, seed=cfg.seed)
    if cfg.filter:
        data = apply_filter(data, cfg.filter)
    return data


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
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state():
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def make_model(cfg: TrainConfig, shape, classes: int):
    from nets.models import build_model
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model, cfg.depth, cfg.width, shape[0], classes, tuple(shape[1:]))


def train(cfg: TrainConfig, resume: bool = False, data=None, progress: bool = True) -> dict:
    """Train per ``cfg`` into ``cfg.out``; returns the result dict also written to ``result.json``."""
    out = Path(cfg.out)
    if (out / "config.json").exists():
        saved = json.loads((out / "config.json").read_text())["config"]
        mine = cfg.identity()
        if {k: saved.get(k) for k in mine} != mine:
            diff = {k: (saved.get(k), v) for k, v in mine.items() if saved.get(k) != v}
            raise TrainError(f"{out} holds a run with a different config {diff}; use another --out")
        if not resume and (out / "result.json").exists():
            return json.loads((out / "result.json").read_text())
        if not resume:
            raise TrainError(f"{out} holds an unfinished run; pass --resume to continue it or use another --out")
    elif resume and out.exists() and any(out.iterdir()):
        raise TrainError(f"--resume: {out} has no config.json, so it is not a freqsens run folder")
    runtime = configure(cfg.threads)
    device = resolve_device(cfg.device)
    amp = cfg.amp and device.type == "cuda"
    data = data if data is not None else load_data(cfg)
    xtr, ytr = _tensors(data, "train", cfg.n_train, device)
    xva, yva = _tensors(data, "val", cfg.n_val, device)
    model = make_model(cfg, data.shape, len(data.classes)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.lam)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=cfg.patience)
    out.mkdir(parents=True, exist_ok=True)
    start, best = 0, {"val_acc": -1.0, "epoch": -1}
    if resume and (out / "last.pt").exists():
        ck = torch.load(out / "last.pt", map_location=device, weights_only=False)
        try:
            model.load_state_dict(ck["model"])
        except RuntimeError as exc:
            raise TrainError(f"{out / 'last.pt'} does not fit model {cfg.model!r}: {str(exc).splitlines()[0]}") from None
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start, best = ck["epoch"] + 1, ck["best"]
    else:
        atomic_write_json(out / "config.json", {"config": asdict(cfg), "provenance": provenance(),
                                                "device": str(device), "runtime": runtime, "n_train": len(xtr),
                                                "n_val": len(xva)})
        (out / "metrics.jsonl").write_text("")
    from tqdm import tqdm
    stop_reason = "max_epochs"
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
        sched.step(val_loss)
        rec = {"epoch": epoch, "train_loss": tot / n, "train_acc": correct / n, "val_loss": val_loss,
               "val_acc": val_acc, "lr": opt.param_groups[0]["lr"], "seconds": round(time.time() - t0, 3),
               "images_per_s": round(n / (time.time() - t0), 1)}
        if val_acc > best["val_acc"]:
            best = {"val_acc": val_acc, "epoch": epoch}
            _save(out / "best.pt", {"model": model.state_dict(), "epoch": epoch, "config": asdict(cfg)})
        _save(out / "last.pt", {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict(), "epoch": epoch, "best": best, "rng": _rng_state(),
                                "config": asdict(cfg)})
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")
        if progress:
            print(f"[train] {out.name} epoch {epoch}: train {rec['train_acc']:.3f} val {val_acc:.3f} "
                  f"lr {rec['lr']:.1e} ({rec['seconds']:.1f} s)", file=sys.stderr)
    model.load_state_dict(torch.load(out / "best.pt", map_location=device, weights_only=False)["model"])
    xte, yte = _tensors(data, "test", cfg.n_test, device)
    test_loss, test_acc = evaluate(model, xte, yte, amp=amp)
    result = {"config": asdict(cfg), "best_epoch": best["epoch"], "val_acc": best["val_acc"], "test_acc": test_acc,
              "test_loss": test_loss, "stop_reason": stop_reason, "device": str(device),
              "parameters": sum(p.numel() for p in model.parameters())}
    atomic_write_json(out / "result.json", result)
    return result


def load_trained(run_dir, device="cpu"):
    """``(model, cfg, data)`` of a finished run: the best-validation weights."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists() or not (run_dir / "best.pt").exists():
        raise TrainError(f"{run_dir}: not a finished freqsens run (needs config.json and best.pt)")
    cfg = TrainConfig(**json.loads((run_dir / "config.json").read_text())["config"])
    data = load_data(cfg)
    model = make_model(cfg, data.shape, len(data.classes))
    model.load_state_dict(torch.load(run_dir / "best.pt", map_location=device, weights_only=False)["model"])
    return model.to(device).eval(), cfg, data


def config_from_args(args) -> TrainConfig:
    """Resolve CLI arguments over preset defaults over the dataclass defaults."""
    base = preset_defaults(args.preset, args.model)
    given = {k: v for k, v in vars(args).items() if v is not None and k not in ("resume",)}
    merged = {**base, **given}
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in merged.items() if k in names})


def add_train_arguments(ap: argparse.ArgumentParser) -> None:
    from nets.models import MODELS
    ap.add_argument("--model", default="convactually", help=f"one of {', '.join(MODELS)}, or resnet6n+2")
    ap.add_argument("--depth", type=int, help="ConvActually depth / LinearCNN layers (default 4 / 2)")
    ap.add_argument("--width", type=int, help="channels of full-size conv layers (paper: 64)")
    ap.add_argument("--dataset", default="embedded", help="embedded | cifar10 | synthetic:grf|deadleaves[?opts]")
    ap.add_argument("--data-root", help="folder with cifar-10-batches-py (else $FREQSENS_DATA)")
    ap.add_argument("--filter", help="spectral filter applied to the data (highpass:R, whiten, invert, ...)")
    ap.add_argument("--n-train", type=int, help="use the first N training images")
    ap.add_argument("--n-val", type=int, help="use the first N validation images")
    ap.add_argument("--n-test", type=int, help="evaluate on the first N test images (default all)")
    ap.add_argument("--lam", type=float, help="weight decay (torch convention; default 1e-5)")
    ap.add_argument("--lr", type=float, help="initial learning rate (preset default)")
    ap.add_argument("--batch-size", type=int, help="batch size (preset default)")
    ap.add_argument("--patience", type=int, help="epochs without val improvement before lr x0.1")
    ap.add_argument("--max-epochs", type=int, help="maximum epochs (preset default)")
    ap.add_argument("--seed", type=int, help="seed for init and data order (default 0)")
    ap.add_argument("--preset", default="quick", choices=PRESETS, help="quick (CPU minutes) or paper (appendix C.5)")
    ap.add_argument("--device", help="auto (default: CUDA if available), cpu, cuda")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default 1)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nets.train", description=__doc__.split("\n\n")[0])
    add_train_arguments(ap)
    ap.add_argument("--out", required=True, help="run folder (config, checkpoints, metrics, result)")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    args = ap.parse_args(argv)
    for name in ("depth", "width", "batch_size", "patience", "max_epochs", "threads", "n_train", "n_val", "n_test"):
        v = getattr(args, name)
        if v is not None and v < 1:
            ap.error(f"--{name.replace('_', '-')}: expected an integer >= 1, got {v}")
    for name in ("lam", "lr"):
        v = getattr(args, name)
        if v is not None and (not math.isfinite(v) or v < 0 or (name == "lr" and v == 0)):
            ap.error(f"--{name}: expected a finite {'positive' if name == 'lr' else 'non-negative'} number, got {v}")
    from nets.data import DataError
    try:
        cfg = config_from_args(args)
        from nets.models import build_model
        build_model(cfg.model, cfg.depth, cfg.width)  # validates the model name early
        res = train(cfg, resume=args.resume)
    except (TrainError, DataError, ValueError) as exc:
        print(f"python -m nets.train: error: {exc}", file=sys.stderr)
        return 2
    print(f"{cfg.out}: best epoch {res['best_epoch']}, val acc {res['val_acc']:.4f}, test acc {res['test_acc']:.4f} "
          f"({res['stop_reason']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
