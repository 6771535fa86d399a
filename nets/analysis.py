"""Frequency sensitivity, Fourier heat maps and the data's tau for any classifier on any images: the library
behind ``python -m nets.analyze`` (``nets.cli.analyze``).

* :func:`load_model` (``MODULE:FACTORY`` plus a ``weights_only`` state dict), :func:`load_images` (any dataset
  name, pixel units in [0, 1]), :func:`check_forward` (one batch through the model before anything is written);
* :func:`analyze` (:class:`AnalysisConfig`, :class:`Inputs`) -> the measures, tau, similarity, figures and
  ``report.md`` in ``config.out``; the gradient pass is saved after every chunk (``OUT/.partial-gradient.npz``),
  so a killed run continues from the last finished chunk.
"""
from __future__ import annotations

import importlib
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from infra.io import atomic_save_figure, atomic_save_npz, atomic_write_json, atomic_write_text, config_key, crash_point, provenance


@dataclass
class AnalysisConfig:
    """What ``python -m nets.analyze`` was asked to do (saved in ``analysis.json``)."""
    model: str
    dataset: str
    out: str
    weights: str | None = None
    data_root: str | None = None
    size: int | None = None
    split: str = "all"
    max_images: int | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    measures: list[str] = field(default_factory=lambda: ["gradient"])
    probes: int = 0
    batch_size: int = 64
    heat_images: int = 500
    heat_max_frequency: int | None = None
    epsilon: float = 4.0
    lam: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    threads: int = 1


@dataclass
class Inputs:
    """The validated inputs of an analysis: the model, pixel-unit images ``x (N, C, H, W)`` and labels ``y (N,)``,
    the class names, the model's normalisation ``(mean, std)`` (or None) and its number of outputs ``K``."""
    model: object
    x: np.ndarray
    y: np.ndarray
    classes: list
    normalise: tuple | None
    K: int


class AnalyzeError(ValueError):
    """Bad input to the analysis; the message names the argument."""


def load_model(spec: str, weights: str | None = None):
    """``MODULE:FACTORY`` -> the module ``FACTORY()`` returns, with ``weights`` loaded (weights_only=True)."""
    import torch
    mod_name, _, fn_name = spec.partition(":")
    if not mod_name or not fn_name:
        raise AnalyzeError(f"--model: expected MODULE:FACTORY (e.g. mypkg.models:resnet18), got {spec!r}")
    try:
        factory = getattr(importlib.import_module(mod_name), fn_name)
    except ImportError as exc:
        raise AnalyzeError(f"--model: cannot import {mod_name!r} ({exc})") from None
    except AttributeError:
        raise AnalyzeError(f"--model: module {mod_name!r} has no {fn_name!r}") from None
    try:
        model = factory()
    except Exception as exc:  # noqa: BLE001 - the user's factory: any failure is reported in one line
        raise AnalyzeError(f"--model: {spec}() failed ({type(exc).__name__}: {exc})") from None
    if not isinstance(model, torch.nn.Module):
        raise AnalyzeError(f"--model: {spec}() returned {type(model).__name__}, expected a torch.nn.Module")
    if weights is not None:
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - missing, truncated or crafted files all end here
            raise AnalyzeError(f"--weights: {weights} is not a readable weights file ({type(exc).__name__})") from None
        if isinstance(state, dict) and isinstance(state.get("model"), dict):
            state = state["model"]
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise AnalyzeError(f"--weights: {weights} does not match the model "
                               f"({str(exc).splitlines()[0][:300]})") from None
    return model.eval()


def load_images(spec: str, size: int | None, split: str, max_images: int | None, data_root=None):
    """Pixel-unit float32 images ``(N, C, H, W)`` in [0, 1] (uint8 / 255) and labels, from a dataset name."""
    from nets.data import DataError, load_dataset
    if size is not None and spec.split("?")[0].startswith("folder:") and "size=" not in spec:
        spec = f"{spec}{'&' if '?' in spec else '?'}size={size}"
    try:
        data = load_dataset(spec, data_root=data_root)
    except DataError as exc:
        raise AnalyzeError(f"--dataset: {exc}") from None
    splits = ("train", "val", "test") if split == "all" else (split,)
    x = np.concatenate([data.split(s)[0] for s in splits])[:max_images]
    y = np.concatenate([data.split(s)[1] for s in splits])[:max_images]
    if len(x) < 2:
        raise AnalyzeError(f"--dataset: expected at least 2 images, got {len(x)}")
    x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    return x, y, data.classes


def check_forward(model, x: np.ndarray, normalise) -> int:
    """One forward pass of two images: ``K`` (the number of outputs), or AnalyzeError naming what failed."""
    import torch
    from nets.measures import prepare
    m, _ = prepare(model, normalise, "cpu")
    try:
        with torch.no_grad():
            out = m(torch.from_numpy(x[:2]))
    except Exception as exc:  # noqa: BLE001 - a model that cannot take these images: one line
        raise AnalyzeError(f"--model: fails on images of shape {tuple(x.shape[1:])} ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:200]})") from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        raise AnalyzeError(f"--model: expected (N, K) logits, got "
                           f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    return int(out.shape[1])


def gradient_map(model, x, normalise, probes: int, batch_size: int, out: Path, key: str, seed: int = 0,
                 chunk: int = 256, device=None):
    """The gradient measure over ``x`` in chunks, resumable: the running mean and centred sum of squares
    are saved after every chunk (``.partial-gradient.npz``, keyed by the analysis config)."""
    from nets.measures import frequency_sensitivity, probe_sensitivity
    from nets.measures.base import Map
    from theory.streaming import chan_update
    part = out / ".partial-gradient.npz"
    n, mean, m2, start = 0, None, None, 0
    if part.exists():
        try:
            with np.load(part, allow_pickle=False) as z:
                if str(z["key"]) == key:
                    n, mean, m2, start = int(z["n"]), z["mean"], z["m2"], int(z["next"])
        except (OSError, ValueError, KeyError, EOFError):
            pass   # unreadable: start over
    chunks = range(start, len(x), chunk)
    if start:
        print(f"[analyze] resuming the gradient pass at image {start}/{len(x)}", file=sys.stderr)
    from tqdm import tqdm
    for s in tqdm(chunks, desc="gradient", unit="chunk", file=sys.stderr, disable=not sys.stderr.isatty()):
        xb = x[s:s + chunk]
        if probes > 0:
            mp = probe_sensitivity(model, xb, probes=probes, batch_size=batch_size, seed=seed + s, normalise=normalise,
                                   device=device)
        else:
            mp = frequency_sensitivity(model, xb, batch_size=batch_size, normalise=normalise, device=device)
        m2b = mp.se.astype(np.float64) ** 2 * mp.n * max(mp.n - 1, 1)   # se = sqrt(m2 / (n - 1) / n)
        n, mean, m2 = chan_update(n, mean, m2, mp.n, mp.mean.astype(np.float64), m2b)
        atomic_save_npz(part, key=key, n=n, mean=mean, m2=m2, next=s + len(xb))
        crash_point("analyze-chunk")
    se = np.sqrt(m2 / max(n - 1, 1) / n)
    part.unlink(missing_ok=True)
    return Map(mean, se, n, {"measure": "gradient", "probes": probes, "units": "per pixel-intensity unit"})


def analyze(cfg: AnalysisConfig, inputs: Inputs) -> dict:
    """Everything after validation: measures, tau, similarity, figures and report into ``cfg.out``; returns
    what ``analysis.json`` holds."""
    import torch
    from nets.measures import compare_sensitivity, fourier_heat_map, moment, radial_curve
    from nets.plots import fft_extent, plot_map
    from theory.spectra import fourier_stats
    out = Path(cfg.out)
    t0 = time.time()
    model, x, y, normalise, K = inputs.model, inputs.x, inputs.y, inputs.normalise, inputs.K
    res = {"config": asdict(cfg), "images": int(len(x)),
           "shape": list(x.shape[1:]), "classes_of_model": K, "provenance": provenance()}
    key = config_key({**res["config"], "n": len(x)})
    tau = fourier_stats((x[s:s + 1024] for s in range(0, len(x), 1024))).tau          # pixel units
    atomic_save_npz(out / "tau.npz", tau=tau)
    rt, gt = radial_curve(tau)
    res["tau"] = {"moment1": moment(rt, gt, 1), "moment2": moment(rt, gt, 2)}
    plot_map(tau, out / "tau.png", "data: tau (variance per frequency)", units="pixel units squared", label="tau")
    if "gradient" in cfg.measures:
        S = gradient_map(model, x, normalise, cfg.probes, cfg.batch_size, out, key, seed=cfg.seed, device=cfg.device)
        atomic_save_npz(out / "sensitivity.npz", mean=S.mean, se=S.se, n=S.n)
        r, g = radial_curve(S.mean)
        _, gse = radial_curve(S.se)
        sim = compare_sensitivity(S.mean, tau, cfg.lam)
        res["gradient"] = {"n_images": S.n, "probes": cfg.probes, "moment1": moment(r, g, 1), "moment2": moment(r, g, 2),
                           "radial_r": r.tolist(), "radial": g.tolist(), "radial_se": gse.tolist(), "similarity": sim}
        plot_map(S.mean, out / "sensitivity.png", f"gradient sensitivity ({'%d probes' % cfg.probes if cfg.probes else 'exact'})",
                 se=S.se, units="per pixel-intensity unit")
    if "heatmap" in cfg.measures:
        n = min(len(x), cfg.heat_images)
        H = x.shape[-1]
        R = cfg.heat_max_frequency if cfg.heat_max_frequency is not None else (None if max(x.shape[-2:]) <= 64 else 16)
        hm = fourier_heat_map(model, torch.from_numpy(x[:n]), torch.from_numpy(y[:n].astype(np.int64)),
                              epsilon=cfg.epsilon, normalise=normalise if normalise else ([0.0] * x.shape[1], [1.0] * x.shape[1]),
                              max_frequency=R, device=cfg.device, progress=True)
        atomic_save_npz(out / "heatmap.npz", mean=hm.mean, se=hm.se, n=hm.n)
        from nets.measures import prepare
        m, dev = prepare(model, normalise, cfg.device)
        wrong = 0
        with torch.no_grad():
            for s in range(0, n, 256):
                pred = m(torch.from_numpy(x[s:min(s + 256, n)]).to(dev)).argmax(1).cpu().numpy()
                wrong += int((pred != y[s:min(s + 256, n)]).sum())
        clean = wrong / n
        hm_mask = np.isfinite(hm.mean)
        res["heatmap"] = {"n_images": n, "epsilon": cfg.epsilon, "max_frequency": R, "clean_error": clean,
                          "mean_error": float(np.nanmean(hm.mean)), "max_se": float(np.nanmax(hm.se)),
                          "frequencies_measured": int(hm_mask.sum()), "image_size": H}
        if "gradient" in res:   # the gradient map computed above, averaged over channels like the heat map
            from scipy.stats import spearmanr
            Sg = S.mean.mean(0)
            res["heatmap"]["spearman_with_gradient"] = float(spearmanr(hm.mean[hm_mask], Sg[hm_mask]).statistic)
        fig_map = np.where(hm_mask, hm.mean, np.nan)
        from nets.plots import use_agg
        plt = use_agg()
        fig, ax = plt.subplots(figsize=(5, 4.4))
        Hh, Ww = fig_map.shape
        im = ax.imshow(np.fft.fftshift(fig_map), origin="lower", vmin=0, vmax=1, cmap="magma", extent=fft_extent(Hh, Ww))
        fig.colorbar(im, ax=ax, label="error rate under the grating")
        ax.set(title=f"Fourier heat map, epsilon {cfg.epsilon:g}, clean error {clean:.3f}", xlabel="kj", ylabel="ki")
        atomic_save_figure(fig, out / "heatmap.png")
    res["seconds"] = round(time.time() - t0, 2)
    atomic_write_json(out / "analysis.json", res)
    atomic_write_text(out / "report.md", report(res))
    return res


def report(res: dict) -> str:
    from infra.tables import fmt, markdown_table
    c = res["config"]
    lines = [f"# Frequency analysis of `{c['model']}` on `{c['dataset']}`", "",
         f"{res['images']} images of shape {tuple(res['shape'])}, model with {res['classes_of_model']} outputs; "
         f"maps are per unit of pixel intensity (images in [0, 1]"
         + (f", normalised by the model's mean {c['mean']} and std {c['std']})." if c.get("mean") else ")."), "",
         "## The data: tau", "", "![](tau.png)", "",
         "How to read this: tau is the variance of the images' unitary DFT at each frequency (DC at the centre, log "
         "scale). Natural images put most variance at low frequencies (tau falls like 1/|k|^2). The paper's claim is "
         "that a trained CNN becomes most sensitive where tau is large.",
         f"Radial moments of tau (eq. 5.1): {fmt(res['tau']['moment1'])}, {fmt(res['tau']['moment2'])}.", ""]
    if "gradient" in res:
        g = res["gradient"]
        s = g["similarity"]
        lines += ["## Gradient sensitivity", "", "![](sensitivity.png)", "",
              "How to read this: each pixel is E_x ||(<grad f_k(x), e_cij>)_k||, how much the logits move per unit "
              "of a Fourier basis image at that frequency (appendix C.2), averaged over the images; the band on the "
              "radial curve is +- 2 standard errors over images"
              + (f" (estimated from {g['probes']} random probes per image, whose noise is included)" if g["probes"] else "")
              + ". If the paper's mechanism is at work, this map looks like tau: its radial curve falls with r and its "
              "rank correlation with tau is positive.", "",
              *markdown_table(
                  ("statistic", "value", "meaning"),
                  [("moment 1 / moment 2 (eq. 5.1)", f"{fmt(g['moment1'])} / {fmt(g['moment2'])}",
                    f"tau's: {fmt(res['tau']['moment1'])} / {fmt(res['tau']['moment2'])}; smaller = more concentrated at low r"),
                   ("Spearman(S, tau)", s["spearman_tau"], "rank agreement over all (c, i, j); 1 = same order"),
                   ("Pearson(log S, log tau)", s["pearson_log_tau"], "agreement of the power laws"),
                   ("Spearman(S, ridge prediction)", s["spearman_ridge"],
                    f"Prop. 4.19: tau / (lam + tau) at lam = {c['lam']:g} (rank-equal to tau)"),
                   ("KL(radial S, radial tau)", s["radial_kl_to_tau"], "0 = same radial distribution")]), ""]
    if "heatmap" in res:
        h = res["heatmap"]
        lines += ["## Fourier heat map", "", "![](heatmap.png)", "",
              f"How to read this: the error rate on {h['n_images']} images when a cosine grating of L2 norm "
              f"{h['epsilon']:g} per channel (random sign per image and channel, then clipped to [0, 1]) is added at "
              f"each frequency (Yin et al. 2019); the clean error is {fmt(h['clean_error'])}. Bright = the model is "
              f"fragile there. Largest standard error of an entry: {fmt(h['max_se'])}"
              + (f"; measured at |ki|, |kj| <= {h['max_frequency']} only ({h['frequencies_measured']} frequencies)"
                 if h["max_frequency"] is not None else "") + "."
              + (f" Spearman with the gradient map (channel mean): {fmt(h['spearman_with_gradient'])}."
                 if "spearman_with_gradient" in h else ""), ""]
    lines += [f"Computed in {res['seconds']} s. Config and versions: `analysis.json`.", ""]
    return "\n".join(lines)
