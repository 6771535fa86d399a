"""freqsens analyze: frequency sensitivity, Fourier heat maps and the data's tau for any classifier on
any images, side by side, with a report that says how to read them.

    freqsens analyze --model mypkg.models:resnet18 --weights resnet18.pt --dataset folder:photos \\
        --size 224 --mean 0.485 0.456 0.406 --std 0.229 0.224 0.225 --probes 32 --out analysis/

* ``--model MODULE:FACTORY``: ``FACTORY()`` must return a ``torch.nn.Module`` mapping ``(N, C, H, W)``
  images to ``(N, K)`` logits; ``--weights`` is loaded with ``torch.load(weights_only=True)`` (a state dict,
  or a freqsens checkpoint holding one under "model").
* ``--dataset`` (alias ``--data``): any dataset name (``folder:PATH``, ``npz:PATH``, ``embedded``, ...); images are used in pixel
  units ([0, 1]); ``--mean/--std`` is the model's input normalisation, applied by the measures, so every
  map is per unit of pixel intensity (appendix C.2's convention).
* Measures: ``gradient`` (exact: K backward passes per batch; with ``--probes M``, M random probes, for
  many classes) and ``heatmap`` (Yin et al.'s published convention: epsilon per channel in [0, 1] pixels,
  clipped, then normalised).
* The gradient pass is saved after every chunk of images (``OUT/.partial-gradient.npz``): a killed run
  continues from the last finished chunk. One writer per ``--out``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from infra.cli import ArgumentParser, add_overwrite, capped, finite_float, int_at_least, require_output_folder, seed_type
from nets.analysis import AnalysisConfig, AnalyzeError, analyze, prepare


def main(argv=None, prog: str = "freqsens analyze") -> int:
    ap = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="MODULE:FACTORY returning a torch.nn.Module ((N, C, H, W) -> (N, K))")
    ap.add_argument("--weights", help="weights file (state dict), loaded with weights_only=True")
    ap.add_argument("--dataset", "--data", dest="dataset", required=True,
                    help="dataset: folder:PATH (one subfolder per class), npz:PATH, embedded, ...")
    ap.add_argument("--data-root", help="for --dataset cifar10")
    ap.add_argument("--size", type=int_at_least(1), help="folder images: resize the shorter side and centre-crop to SIZE "
                    "(at most 2048)")
    ap.add_argument("--split", default="all", choices=["all", "train", "val", "test"], help="images to use (default all)")
    ap.add_argument("--max-images", type=int_at_least(2), help="use at most this many images")
    ap.add_argument("--mean", type=finite_float(), nargs="+", help="the model's input normalisation mean per channel, in [0, 1] units")
    ap.add_argument("--std", type=finite_float(0, strict=True), nargs="+", help="... and std per channel")
    from nets.analysis import REPORTED
    from nets.measures import measure_names
    offered = [m for m in measure_names() if m in REPORTED]   # the measures registry, as far as analyze reports it
    ap.add_argument("--measures", default="gradient", help=f"comma-separated: {', '.join(offered)} (default gradient)")
    ap.add_argument("--probes", type=int_at_least(0), default=0, help="random probes per image for the gradient map "
                    "(0: exact, K backward passes; use e.g. 32 for 1000 classes)")
    ap.add_argument("--batch-size", type=int_at_least(1), default=64)
    ap.add_argument("--heat-images", type=int_at_least(1), default=500, help="images for the heat map (default 500)")
    ap.add_argument("--heat-max-frequency", type=int_at_least(0), help="heat map only at |ki|, |kj| <= R "
                    "(default: all frequencies up to 64x64 images, else 16)")
    ap.add_argument("--epsilon", type=finite_float(0), default=4.0, help="heat-map grating norm per channel (default 4)")
    ap.add_argument("--lam", type=finite_float(0, strict=True), default=1e-3, help="lambda of the ridge prediction tau/(lam+tau)")
    ap.add_argument("--seed", type=seed_type, default=0, help="seed of the random probes (default 0)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--threads", type=int_at_least(1), default=os.cpu_count() or 1,
                    help="torch CPU threads (default: every core; the analysis runs alone)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--verbose", action="store_true", help="show the traceback of a failure inside your model's code")
    ap.add_argument("--no-twin", dest="twin", action="store_false", help="do not measure the untrained twin (the same "
                    "factory freshly initialised, the baseline every table shows next to the model)")
    ap.add_argument("--twin-images", type=int_at_least(2), default=256, help="images for the twin's map (default 256)")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    require_output_folder(ap, "--out", args.out, "nets.analyze", args.overwrite)
    args.threads = capped(ap.prog, "--threads", args.threads)
    from nets.data.folder import MAX_SIZE
    if args.size is not None and args.size > MAX_SIZE:
        ap.error(f"--size: expected an integer in 1..{MAX_SIZE}, got {args.size}")
    if args.mean is not None and any(not 0 <= v <= 1 for v in args.mean):
        ap.error(f"--mean: expected values in [0, 1] (pixel units; divide 0-255 values by 255), got {args.mean}")
    if args.std is not None and any(not 1e-3 <= v <= 10 for v in args.std):
        ap.error(f"--std: expected values in [0.001, 10] (pixel units; divide 0-255 values by 255), got {args.std}")
    args.measures = [m.strip() for m in args.measures.split(",") if m.strip()]
    bad = [m for m in args.measures if m not in offered]
    if bad or not args.measures:
        ap.error(f"--measures: expected a comma-separated subset of {', '.join(offered)}, got {bad or 'nothing'}")
    if (args.mean is None) != (args.std is None):
        ap.error("--mean, --std: give both or neither")
    from infra.io import LockError
    from nets.runtime import resolve_device
    try:
        args.device = str(resolve_device(args.device))
        cfg = AnalysisConfig(**{k: v for k, v in vars(args).items() if k not in ("overwrite", "verbose")})
        inputs = prepare(cfg, args.verbose)
    except (AnalyzeError, ValueError) as exc:
        ap.error(str(exc))
    try:
        res = analyze(cfg, inputs, args.overwrite)
    except LockError as exc:      # another writer holds --out, or it stopped being freqsens's
        ap.error(f"--out: {exc}")
    except AnalyzeError as exc:   # found after the start (a map with non-finite values): nothing of it written
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - most likely the user's model failing on some batch: one line
        if args.verbose:
            import traceback
            traceback.print_exc()
        print(f"{ap.prog}: error: the analysis stopped ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]})"
              f"; finished chunks are kept and the same command continues{'' if args.verbose else '; --verbose shows the traceback'}",
              file=sys.stderr)
        return 1
    g, t = res.get("gradient"), res.get("twin")
    for w in res["warnings"]:
        print(f"{ap.prog}: warning: {w}", file=sys.stderr)
    print(f"{args.out}: {res['images']} images"
          + (f"; accuracy {res['accuracy']['accuracy']:.3f} (chance {res['accuracy']['chance']:.3f})" if "accuracy" in res else "")
          + (f"; sensitivity moment1 {g['moment1']:.3f} (tau {res['tau']['moment1']:.3f}), Spearman(S, tau) "
             f"{g['similarity']['spearman_tau']:.3f}" if g else "")
          + (f" (untrained twin {t['similarity']['spearman_tau']:.3f})" if t else "")
          + (f"; heat map mean error {res['heatmap']['mean_error']:.3f}" if "heatmap" in res else "")
          + f"; report {Path(args.out) / 'report.md'} ({res['seconds']} s)")
    return 0
