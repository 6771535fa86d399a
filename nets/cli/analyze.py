"""python -m nets.analyze: frequency sensitivity, Fourier heat maps and the data's tau for any classifier on
any images, side by side, with a report that says how to read them.

    python -m nets.analyze --model mypkg.models:resnet18 --weights resnet18.pt --dataset folder:photos \\
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

from infra.cli import ArgumentParser, finite_float, int_at_least
from nets.analysis import AnalysisConfig, AnalyzeError, Inputs, analyze, check_forward, load_images, load_model


def main(argv=None) -> int:
    ap = ArgumentParser(prog="python -m nets.analyze", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="MODULE:FACTORY returning a torch.nn.Module ((N, C, H, W) -> (N, K))")
    ap.add_argument("--weights", help="weights file (state dict), loaded with weights_only=True")
    ap.add_argument("--dataset", "--data", dest="dataset", required=True,
                    help="dataset: folder:PATH (one subfolder per class), npz:PATH, embedded, ...")
    ap.add_argument("--data-root", help="for --dataset cifar10")
    ap.add_argument("--size", type=int_at_least(1), help="folder images: resize the shorter side and centre-crop to SIZE")
    ap.add_argument("--split", default="all", choices=["all", "train", "val", "test"], help="images to use (default all)")
    ap.add_argument("--max-images", type=int_at_least(2), help="use at most this many images")
    ap.add_argument("--mean", type=finite_float(), nargs="+", help="the model's input normalisation mean per channel, in [0, 1] units")
    ap.add_argument("--std", type=finite_float(0, strict=True), nargs="+", help="... and std per channel")
    ap.add_argument("--measures", default="gradient", help="comma-separated: gradient, heatmap (default gradient)")
    ap.add_argument("--probes", type=int_at_least(0), default=0, help="random probes per image for the gradient map "
                    "(0: exact, K backward passes; use e.g. 32 for 1000 classes)")
    ap.add_argument("--batch-size", type=int_at_least(1), default=64)
    ap.add_argument("--heat-images", type=int_at_least(1), default=500, help="images for the heat map (default 500)")
    ap.add_argument("--heat-max-frequency", type=int_at_least(0), help="heat map only at |ki|, |kj| <= R "
                    "(default: all frequencies up to 64x64 images, else 16)")
    ap.add_argument("--epsilon", type=finite_float(0), default=4.0, help="heat-map grating norm per channel (default 4)")
    ap.add_argument("--lam", type=finite_float(0, strict=True), default=1e-3, help="lambda of the ridge prediction tau/(lam+tau)")
    ap.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the random probes (default 0)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--threads", type=int_at_least(1), default=os.cpu_count() or 1,
                    help="torch CPU threads (default: every core; the analysis runs alone)")
    ap.add_argument("--out", required=True, help="output folder")
    args = ap.parse_args(argv)
    args.measures = [m.strip() for m in args.measures.split(",") if m.strip()]
    bad = [m for m in args.measures if m not in ("gradient", "heatmap")]
    if bad or not args.measures:
        ap.error(f"--measures: expected a comma-separated subset of gradient, heatmap, got {bad or 'nothing'}")
    if (args.mean is None) != (args.std is None):
        ap.error("--mean, --std: give both or neither")
    from infra.io import FolderLock, LockError, check_writable_folder
    from nets.runtime import resolve_device
    try:
        args.device = str(resolve_device(args.device))
        try:
            check_writable_folder(args.out)
        except LockError as exc:
            raise AnalyzeError(f"--out: {exc}") from None
        model = load_model(args.model, args.weights)
        x, y, classes = load_images(args.dataset, args.size, args.split, args.max_images, args.data_root)
        normalise = None
        if args.mean is not None:
            if not (len(args.mean) == len(args.std) == x.shape[1]):
                raise AnalyzeError(f"--mean, --std: expected {x.shape[1]} values each (one per channel), got "
                                   f"{len(args.mean)} and {len(args.std)}")
            normalise = (args.mean, args.std)
        K = check_forward(model, x, normalise)
        if "heatmap" in args.measures and int(y.max()) >= K:
            raise AnalyzeError(f"--dataset: labels go up to {int(y.max())} but the model has {K} outputs (the heat map "
                               "needs the data's labels to be the model's classes)")
        lock = FolderLock(args.out).acquire()
    except (AnalyzeError, ValueError, LockError) as exc:
        ap.error(str(exc))
    from nets.runtime import configure
    configure(args.threads)
    try:
        res = analyze(AnalysisConfig(**vars(args)), Inputs(model, x, y, classes, normalise, K))
    finally:
        lock.release()
    g = res.get("gradient")
    print(f"{args.out}: {res['images']} images"
          + (f"; sensitivity moment1 {g['moment1']:.3f} (tau {res['tau']['moment1']:.3f}), Spearman(S, tau) "
             f"{g['similarity']['spearman_tau']:.3f}" if g else "")
          + (f"; heat map mean error {res['heatmap']['mean_error']:.3f}" if "heatmap" in res else "")
          + f"; report {Path(args.out) / 'report.md'} ({res['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
