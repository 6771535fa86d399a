"""freqsens train: train one model (appendix C.5) into a run folder; resumable.

    freqsens train --model convactually --depth 4 --weight-decay 1e-5 --preset quick --out runs/ca4

Exit status: 0 done; 2 input refused before anything was written (one line says why); 1 the loss became
non-finite after training started (the folder and its last good checkpoint are kept); 130 / 143 on
SIGINT / SIGTERM (re-run with --resume to continue).
"""
from __future__ import annotations

import argparse
import math
import sys

from infra.cli import ArgumentParser, add_overwrite, capped, seed_type
from nets.runs import TrainConfig, TrainError
from nets.training import PRESETS, load_data, preset_defaults, train


def config_from_args(args) -> TrainConfig:
    """Resolve CLI arguments over the model's preset defaults over the dataclass defaults."""
    base = preset_defaults(args.preset, args.model)
    given = {k: v for k, v in vars(args).items() if v is not None and k not in ("resume", "overwrite")}
    return TrainConfig.from_dict({**base, **given})


def _epochs(text: str) -> list[int]:
    """``"7,9"`` -> ``[7, 9]``: increasing epochs >= 1 (argparse turns the ValueError into one line, exit 2)."""
    try:
        v = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epochs such as 7,9, got {text!r}") from None
    if not v or v[0] < 1 or any(b <= a for a, b in zip(v, v[1:])):
        raise argparse.ArgumentTypeError(f"expected increasing epochs >= 1 such as 7,9, got {text!r}")
    return v


def add_train_arguments(ap: argparse.ArgumentParser) -> None:
    from nets.data import dataset_names
    from nets.models import model_names
    ap.add_argument("--model", default="convactually", help=f"one of {', '.join(model_names())}, or resnet6n+2")
    ap.add_argument("--depth", type=int, help="ConvActually depth / LinearCNN layers (default 4 / 2)")
    ap.add_argument("--width", type=int, help="channels of full-size conv layers (paper: 64)")
    ap.add_argument("--dataset", default="embedded", help=f"{' | '.join(dataset_names())}, options after '?'")
    ap.add_argument("--data-root", help="folder with cifar-10-batches-py (else $FREQSENS_DATA)")
    ap.add_argument("--filter", help="spectral filter applied to the data (highpass:R, whiten, invert, ...)")
    ap.add_argument("--n-train", type=int, help="use the first N training images")
    ap.add_argument("--n-val", type=int, help="use the first N validation images")
    ap.add_argument("--n-test", type=int, help="evaluate on the first N test images (default all)")
    ap.add_argument("--weight-decay", type=float, help="torch's weight_decay (penalty weight_decay/2 |w|^2, "
                    "i.e. twice eq. 4.1's lambda; default 1e-5)")
    ap.add_argument("--lr", type=float, help="initial learning rate (preset default)")
    ap.add_argument("--batch-size", type=int, help="batch size (preset default)")
    ap.add_argument("--patience", type=int, help="epochs without val improvement before lr x0.1")
    ap.add_argument("--optimizer", choices=["sgd", "adam"], help="sgd (momentum 0.9, appendix C.5) or adam (coupled "
                    "L2, the same objective); preset default")
    ap.add_argument("--lr-drops", type=_epochs, help="E1,E2,...: lr x0.1 at these epochs instead of on plateaus")
    ap.add_argument("--max-epochs", type=int, help="maximum epochs (preset default)")
    ap.add_argument("--seed", type=seed_type, help="seed for init and data order, in [0, 2**32) (default 0)")
    ap.add_argument("--preset", default="quick", choices=PRESETS, help="quick (CPU minutes) or paper (appendix C.5)")
    ap.add_argument("--device", help="auto (default: CUDA if available), cpu, cuda")
    ap.add_argument("--checkpoint", choices=["best", "last"], help="the model reported and measured: best validation "
                    "accuracy (default) or the end of the schedule")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default 1)")
    ap.add_argument("--augment", action="store_true", default=None,
                    help="random flips and translations by up to 4 px while training (as the released code)")


def main(argv=None, prog: str = "freqsens train") -> int:
    ap = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    add_train_arguments(ap)
    ap.add_argument("--out", required=True, help="run folder (config, checkpoints, metrics, result)")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    for name in ("depth", "width", "batch_size", "patience", "max_epochs", "threads", "n_train", "n_val", "n_test"):
        v = getattr(args, name)
        if v is not None and v < 1:
            ap.error(f"--{name.replace('_', '-')}: expected an integer >= 1, got {v}")
    for name, top in (("weight_decay", 100.0), ("lr", 100.0)):
        v = getattr(args, name)
        if v is not None and (not math.isfinite(v) or v < 0 or (name == "lr" and v == 0) or v > top):
            ap.error(f"--{name.replace('_', '-')}: expected a {'positive' if name == 'lr' else 'non-negative'} "
                     f"number <= {top:g}, got {v}")
    if args.threads is not None:
        args.threads = capped(ap.prog, "--threads", args.threads)
    from nets.runtime import resolve_device
    if args.device is not None:
        try:
            resolve_device(args.device)
        except ValueError as exc:
            ap.error(f"--{exc}")
    from pathlib import Path
    if args.resume and not (Path(args.out) / "config.json").exists():
        ap.error(f"--resume: {args.out} holds no run to resume (no config.json)")
    from nets.data import DataError
    def run():
        import torch

        from nets.models import build_model
        cfg = config_from_args(args)
        with torch.device("meta"):   # validates the model name and options early, allocating nothing
            build_model(cfg.model, cfg.depth, cfg.width)
        return cfg, train(cfg, load_data(cfg), resume=args.resume, overwrite=args.overwrite)

    from nets.runs import TrainDiverged
    try:
        cfg, res = run()
    except TrainDiverged as exc:   # the run had started: its folder is kept, and this is not an input error
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 1
    except (TrainError, DataError, ValueError) as exc:
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"{cfg.out}: best epoch {res['best_epoch']}, val acc {res['val_acc']:.4f}, test acc {res['test_acc']:.4f} "
          f"({res['stop_reason']})")
    return 0
