"""python -m nets.sensitivity RUN_DIR: the frequency-sensitivity map of a trained run (appendix C.2, Figs. 2-5).

    python -m nets.sensitivity RUN_DIR [--split val] [--max-images 5000] [--loss-grad]

Writes ``sensitivity.npz`` (mean, se, n), ``sensitivity.json`` (moments, radial curve) and
``sensitivity.png`` into the run folder. The measure itself is ``nets.measures.frequency_sensitivity``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from infra.cli import ArgumentParser
from infra.io import atomic_save_figure, atomic_save_npz, atomic_write_json
from nets.measures import Map, frequency_sensitivity, postprocess, radial_curve, summarise
from nets.plots import spectrum_image, use_agg


def plot(S: Map, out: Path, title: str) -> None:
    """The map (log, DC at centre) and its post-processed radial curve (Fig. 3a style) -> ``sensitivity.png``."""
    plt = use_agg()
    r, g = radial_curve(S.mean)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4))
    a.imshow(spectrum_image(S.mean), origin="lower")
    a.set(title=f"{title}\nlog sensitivity, DC at centre", xticks=[], yticks=[])
    b.plot(r, postprocess(r, g))
    b.set(xlabel="r = |k|", ylabel="log normalised radial sensitivity (smoothed)", title="radial (Fig. 3a style)")
    atomic_save_figure(fig, out / "sensitivity.png")


def run(run_dir, split: str = "val", max_images: int | None = 5000, batch_size: int = 256,
        loss_grad: bool = False, device: str = "cpu", data=None) -> dict:
    """Compute, save (``sensitivity.npz``, ``sensitivity.json``, ``sensitivity.png``) and return the summary.
    ``data``: the run's dataset if the caller already has it (else it is loaded)."""
    from nets.training import load_trained
    run_dir = Path(run_dir)
    model, cfg, data = load_trained(run_dir, device, data)
    x = torch.from_numpy(np.ascontiguousarray(data.normalised(split)[:max_images])).to(device)
    y = torch.from_numpy(data.split(split)[1][:max_images].astype(np.int64)).to(device)
    t0 = time.time()
    S = frequency_sensitivity(model, x, batch_size, loss_grad, y, progress=True)
    summary = {**summarise(S.mean, S.n), "split": split, "loss_grad": loss_grad, "seconds": round(time.time() - t0, 3),
               "images_per_s": round(S.n / (time.time() - t0), 2)}
    name = "sensitivity_loss" if loss_grad else "sensitivity"
    atomic_save_npz(run_dir / f"{name}.npz", mean=S.mean, se=S.se, n=S.n)
    atomic_write_json(run_dir / f"{name}.json", summary)
    if not loss_grad:
        plot(S, run_dir, f"{cfg.model} depth {cfg.depth} weight decay {cfg.weight_decay:g}")
    return summary


def main(argv=None) -> int:
    ap = ArgumentParser(prog="python -m nets.sensitivity", description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", help="a finished run folder of python -m nets.train")
    ap.add_argument("--split", default="val", choices=["train", "val", "test"], help="images to average over (default val)")
    ap.add_argument("--max-images", type=int, default=5000, help="at most this many images (paper: 5000)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--loss-grad", action="store_true", help="gradient of the loss instead of the K outputs")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args(argv)
    if args.max_images < 2 or args.batch_size < 1:
        ap.error("--max-images must be >= 2 and --batch-size >= 1")
    from nets.data import DataError
    from nets.training import TrainError, resolve_device
    try:
        resolve_device(args.device)
    except TrainError as exc:
        ap.error(str(exc))
    if not (Path(args.run_dir) / "config.json").exists() or not (Path(args.run_dir) / "best.pt").exists():
        ap.error(f"run_dir: {args.run_dir} is not a finished freqsens run (needs config.json and best.pt)")
    try:
        s = run(args.run_dir, args.split, args.max_images, args.batch_size, args.loss_grad, args.device)
    except (TrainError, DataError, ValueError) as exc:
        print(f"python -m nets.sensitivity: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.run_dir}: {s['n_images']} images, moment1 {s['moment1']:.3f}, moment2 {s['moment2']:.3f} "
          f"({s['images_per_s']} img/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
