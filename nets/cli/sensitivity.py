"""freqsens sensitivity RUN_DIR: the frequency-sensitivity map of a trained run (appendix C.2, Figs. 2-5).

    freqsens sensitivity RUN_DIR [--split val] [--max-images 5000] [--loss-grad]

Writes ``sensitivity.npz`` (mean, se, n), ``sensitivity.json`` (moments, radial curve) and
``sensitivity.png`` into the run folder (``nets.measuring.measure_run``; the measure itself is
``nets.measures.frequency_sensitivity``).
"""
from __future__ import annotations

from pathlib import Path

from infra.cli import ArgumentParser, run_or_exit


def main(argv=None, prog: str = "freqsens sensitivity") -> int:
    ap = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", help="a finished run folder of freqsens train")
    ap.add_argument("--split", default="val", choices=["train", "val", "test"], help="images to average over (default val)")
    ap.add_argument("--max-images", type=int, default=5000, help="at most this many images (paper: 5000)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--loss-grad", action="store_true", help="gradient of the loss instead of the K outputs")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args(argv)
    if args.max_images < 2 or args.batch_size < 1:
        ap.error("--max-images must be >= 2 and --batch-size >= 1")
    from nets.data import DataError
    from nets.measuring import measure_run
    from nets.runs import TrainError
    from nets.runtime import resolve_device
    try:
        resolve_device(args.device)
    except ValueError as exc:
        ap.error(str(exc))
    if not (Path(args.run_dir) / "config.json").exists() or not (Path(args.run_dir) / "best.pt").exists():
        ap.error(f"run_dir: {args.run_dir} is not a finished freqsens run (needs config.json and best.pt)")
    s, rc = run_or_exit(ap.prog, lambda: measure_run(args.run_dir, args.split, args.max_images, args.batch_size,
                                                     args.loss_grad, args.device), (TrainError, DataError, ValueError,
                                                                                       OSError))
    if rc:
        return rc
    print(f"{args.run_dir}: {s['n_images']} images, moment1 {s['moment1']:.3f}, moment2 {s['moment2']:.3f} "
          f"({s['images_per_s']} img/s)")
    return 0
