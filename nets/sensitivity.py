"""Frequency sensitivity of a classifier (appendix C.2, Figs. 2-5), radial curves and moments (eq. 5.1).

    python -m nets.sensitivity RUN_DIR [--split val] [--max-images 5000] [--loss-grad]

``S_cij = E_x || (<grad_x f_k(x), e_cij>)_k ||_2`` with ``e_cij`` the unitary Fourier basis. Because
``<g, e_cij> = dft2(g)_cij`` for the unitary DFT of ``theory.dft``, a batch costs K backward passes (one per
output, each giving every image's input gradient at once, as the model treats images independently in
eval mode) and one FFT, never one pass per basis vector or per image. Reported: the mean over all images
and its standard error. The loss-gradient variant uses ``grad_x loss(f(x), y)`` instead (no K axis).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from theory.dft import dft2
from theory.spectra import radial_average


@dataclass
class Sensitivity:
    mean: np.ndarray   # (C, H, W), FFT order (DC at [0, 0])
    se: np.ndarray     # (C, H, W), standard error of the mean over images
    n: int


def _accumulate(acc, s):
    """Chan et al.'s pairwise update of (mean, centred sum of squares, count): no E[s^2] - E[s]^2 cancellation."""
    s = s.detach().double().cpu()
    nb, mb = s.shape[0], s.mean(0)
    m2b = ((s - mb) ** 2).sum(0)
    n = acc[2]
    if n == 0:
        acc[0], acc[1] = mb, m2b
    else:
        d = mb - acc[0]
        acc[1] = acc[1] + m2b + d ** 2 * n * nb / (n + nb)
        acc[0] = acc[0] + d * nb / (n + nb)
    acc[2] = n + nb


def frequency_sensitivity(model, x: torch.Tensor, batch_size: int = 256, loss_grad: bool = False,
                          y: torch.Tensor | None = None, progress: bool = False) -> Sensitivity:
    """Mean and standard error of ``|| (<grad f_k, e_cij>)_k ||_2`` over the images ``x: (N, C, H, W)``.

    loss_grad=True: ``|<grad_x CE(f(x), y), e_cij>|`` instead (needs labels ``y``). The model is put in eval
    mode (BatchNorm statistics fixed), so each image's gradient depends on that image only.
    """
    if x.ndim != 4:
        raise ValueError(f"x: expected images (N, C, H, W), got shape {tuple(x.shape)}")
    if loss_grad and y is None:
        raise ValueError("y: the loss-gradient variant needs labels")
    model.eval()
    acc = [torch.zeros(x.shape[1:], dtype=torch.float64), torch.zeros(x.shape[1:], dtype=torch.float64), 0]
    rng = range(0, len(x), batch_size)
    if progress:
        from tqdm import tqdm
        rng = tqdm(rng, desc="sensitivity", unit="batch", file=sys.stderr, disable=not sys.stderr.isatty())
    for s in rng:
        xb = x[s:s + batch_size].detach().clone().requires_grad_(True)
        out = model(xb)
        if loss_grad:
            (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(out, y[s:s + batch_size], reduction="sum"), xb)
            mag = dft2(g).abs()                                               # (B, C, H, W)
        else:
            K = out.shape[1]
            grads = [torch.autograd.grad(out[:, k].sum(), xb, retain_graph=k < K - 1)[0] for k in range(K)]
            mag = dft2(torch.stack(grads)).abs().pow(2).sum(0).sqrt()          # norm over the K outputs
        _accumulate(acc, mag)
    mean, var = acc[0], acc[1] / max(acc[2] - 1, 1)   # unbiased variance over images
    return Sensitivity(mean.numpy(), (var / acc[2]).sqrt().numpy(), int(acc[2]))


def radial_curve(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average of ``S (C, H, W)`` over all (c, i, j) at each exact radius ``sqrt(ki^2 + kj^2)`` (DC at r = 0)."""
    r, prof = radial_average(S)
    return r, prof.mean(axis=0) if prof.ndim == 2 else prof


def moment(r: np.ndarray, g: np.ndarray, k: int) -> float:
    """eq. 5.1 on the raw curve: ``int r^k g(r) dr / int g(r) dr`` (trapezoid rule on the exact radii)."""
    r, g = np.asarray(r, float), np.asarray(g, float)
    if r.shape != g.shape or r.ndim != 1 or len(r) < 2:
        raise ValueError(f"r, g: expected two 1-D arrays of the same length >= 2, got {r.shape}, {g.shape}")
    den = np.trapezoid(g, r)
    if den <= 0:
        raise ValueError("g: expected a non-negative curve with positive integral")
    return float(np.trapezoid(r ** k * g, r) / den)


def postprocess(r: np.ndarray, g: np.ndarray, neighbours: int = 3) -> np.ndarray:
    """The paper's plotting transform (Fig. 3a): divide by the integral, take logs, then average each point
    with ``neighbours`` points on either side (fewer at the ends)."""
    p = np.log(np.asarray(g, float) / np.trapezoid(g, r))
    c = np.concatenate([[0.0], np.cumsum(p)])
    idx = np.arange(len(p))
    lo, hi = np.maximum(idx - neighbours, 0), np.minimum(idx + neighbours + 1, len(p))
    return (c[hi] - c[lo]) / (hi - lo)


def summarise(S: Sensitivity) -> dict:
    r, g = radial_curve(S.mean)
    return {"n_images": S.n, "moment1": moment(r, g, 1), "moment2": moment(r, g, 2), "radial_r": r.tolist(),
            "radial": g.tolist()}


def plot(S: Sensitivity, out: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    img = np.log(np.fft.fftshift(S.mean, axes=(-2, -1)) + 1e-30)
    img = (img - img.min()) / max(img.max() - img.min(), 1e-12)
    r, g = radial_curve(S.mean)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4))
    a.imshow(np.moveaxis(img, 0, -1) if img.shape[0] == 3 else img.mean(0), origin="lower")
    a.set(title=f"{title}\nlog sensitivity, DC at centre", xticks=[], yticks=[])
    b.plot(r, postprocess(r, g))
    b.set(xlabel="r = |k|", ylabel="log normalised radial sensitivity (smoothed)", title="radial (Fig. 3a style)")
    tmp = out / ".sensitivity.tmp.png"
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(out / "sensitivity.png")


def run(run_dir, split: str = "val", max_images: int | None = 5000, batch_size: int = 256,
        loss_grad: bool = False, device: str = "cpu") -> dict:
    """Compute, save (``sensitivity.npz``, ``sensitivity.json``, ``sensitivity.png``) and return the summary."""
    from nets.train import load_trained
    from theory._io import atomic_write_json
    run_dir = Path(run_dir)
    model, cfg, data = load_trained(run_dir, device)
    x = torch.from_numpy(np.ascontiguousarray(data.normalised(split)[:max_images])).to(device)
    y = torch.from_numpy(data.split(split)[1][:max_images].astype(np.int64)).to(device)
    t0 = time.time()
    S = frequency_sensitivity(model, x, batch_size, loss_grad, y, progress=True)
    summary = {**summarise(S), "split": split, "loss_grad": loss_grad, "seconds": round(time.time() - t0, 3),
               "images_per_s": round(S.n / (time.time() - t0), 2)}
    name = "sensitivity_loss" if loss_grad else "sensitivity"
    tmp = run_dir / f".{name}.npz.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, mean=S.mean, se=S.se, n=S.n)
    tmp.replace(run_dir / f"{name}.npz")
    atomic_write_json(run_dir / f"{name}.json", summary)
    if not loss_grad:
        plot(S, run_dir, f"{cfg.model} depth {cfg.depth} lam {cfg.lam:g}")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nets.sensitivity", description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", help="a finished run folder of python -m nets.train")
    ap.add_argument("--split", default="val", choices=["train", "val", "test"], help="images to average over (default val)")
    ap.add_argument("--max-images", type=int, default=5000, help="at most this many images (paper: 5000)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--loss-grad", action="store_true", help="gradient of the loss instead of the K outputs")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args(argv)
    if args.max_images < 2 or args.batch_size < 1:
        ap.error("--max-images must be >= 2 and --batch-size >= 1")
    from nets.train import TrainError
    try:
        s = run(args.run_dir, args.split, args.max_images, args.batch_size, args.loss_grad, args.device)
    except (TrainError, ValueError) as exc:
        print(f"python -m nets.sensitivity: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.run_dir}: {s['n_images']} images, moment1 {s['moment1']:.3f}, moment2 {s['moment2']:.3f} "
          f"({s['images_per_s']} img/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
