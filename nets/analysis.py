"""Frequency sensitivity, Fourier heat maps and the data's tau for any classifier on any images: the library
behind ``freqsens analyze`` (``nets.cli.analyze``).

* :func:`load_model`, :func:`check_forward`, :func:`untrained_twin`: the user's model as untrusted code with a
  contract (``nets.usermodel``); :func:`load_images` (any dataset name, pixel units in [0, 1], stratified);
* :func:`analyze` (:class:`AnalysisConfig`, :class:`Inputs`) -> the measures, tau, similarity, figures and
  ``report.md`` in ``config.out``; the gradient pass is saved after every chunk (``OUT/.partial-gradient.npz``),
  so a killed run continues from the last finished chunk.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from infra.io import atomic_save_npz, atomic_write_json, atomic_write_text, config_key, crash_point, provenance
from nets.usermodel import AnalyzeError, check_forward, load_model, untrained_twin

__all__ = ["AnalysisConfig", "AnalyzeError", "Inputs", "analyze", "check_forward", "clean_accuracy", "gradient_map",
           "load_images", "load_model", "report", "stratified", "untrained_twin"]


@dataclass
class AnalysisConfig:
    """What ``freqsens analyze`` was asked to do (saved in ``analysis.json``)."""
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
    twin: bool = True            # measure the untrained twin (same factory, fresh init) next to the model
    twin_images: int = 256       # images for the twin's map (stratified by class)


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
    twin: object = None                           # the untrained twin, or None
    notes: list = field(default_factory=list)     # warnings found while loading (printed and in the report)


def stratified(y: np.ndarray, n: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``n`` of the labels ``y (N,)``, each class in proportion to its size (a seeded
    shuffle within each class, then the smallest within-class ranks ``(i + 1/2) / n_c``): ``--max-images 100``
    of a class-ordered folder gets every class, not the first one only. All indices when ``n >= N``."""
    y = np.asarray(y)
    if n is None or n >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    per = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    ranks = np.concatenate([(np.arange(len(i)) + 0.5) / len(i) for i in per])
    return np.sort(np.concatenate(per)[np.argsort(ranks, kind="stable")[:n]])


def load_images(spec: str, size: int | None, split: str, max_images: int | None, data_root=None, seed: int = 0):
    """Pixel-unit float32 images ``(N, C, H, W)`` in [0, 1] (uint8 / 255), labels, class names and notes (the
    warnings a reader needs: an implicit or distant ``--size``), from a dataset name. ``max_images`` are
    drawn stratified by class with ``seed`` (:func:`stratified`)."""
    import inspect

    from nets.data import DataError, load_dataset
    from nets.data.folder import folder
    is_folder = spec.split("?")[0].startswith("folder:")
    if size is not None and is_folder and "size=" not in spec:
        spec = f"{spec}{'&' if '?' in spec else '?'}size={size}"
    try:
        data = load_dataset(spec, data_root=data_root)
    except DataError as exc:
        raise AnalyzeError(f"--dataset: {exc}") from None
    splits = ("train", "val", "test") if split == "all" else (split,)
    x = np.concatenate([data.split(s)[0] for s in splits])
    y = np.concatenate([data.split(s)[1] for s in splits])
    keep = stratified(y, max_images, seed)
    x, y = x[keep], y[keep]
    if len(x) < 2:
        raise AnalyzeError(f"--dataset: expected at least 2 images, got {len(x)}")
    notes = []
    med = data.meta.get("source_short_side_median")
    if is_folder and "size=" not in spec:
        d = inspect.signature(folder).parameters["size"].default
        notes.append(f"--size not given: the images were resized and centre-cropped to {d}x{d} (the folder loader's "
                     f"default; their shorter sides have a median of {med} pixels); give --size for your model's input")
    elif is_folder and med and not 0.8 <= x.shape[-1] / med <= 1.25:
        notes.append(f"--size {x.shape[-1]}: the images' shorter sides have a median of {med} pixels (range "
                     f"{data.meta.get('source_short_side_range')}); they were rescaled by {x.shape[-1] / med:.2f}, "
                     "which moves every frequency")
    x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    return x, y, data.classes, notes


def gradient_map(model, x, normalise, probes: int, batch_size: int, out: Path, key: str, seed: int = 0,
                 chunk: int = 256, device=None, name: str = "gradient"):
    """The gradient measure over ``x`` in chunks, resumable: the running mean and centred sum of squares
    are saved after every chunk (``.partial-gradient.npz``, keyed by the analysis config)."""
    from nets.measures import frequency_sensitivity, probe_sensitivity
    from nets.measures.base import Map
    from theory.streaming import chan_update
    part = out / f".partial-{name}.npz"
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
    for s in tqdm(chunks, desc=name, unit="chunk", file=sys.stderr, disable=not sys.stderr.isatty()):
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


def clean_accuracy(model, x: np.ndarray, y: np.ndarray, normalise, device, n: int = 1000, seed: int = 0) -> dict:
    """Accuracy of ``model`` on up to ``n`` of the images (stratified) against the data's labels, and chance
    (the most frequent label's share): a model near chance does not classify these images (or the folder's
    class order is not the model's), and its maps say little about what it learned."""
    import torch
    from nets.measures import prepare
    idx = stratified(y, n, seed)
    m, dev = prepare(model, normalise, device)
    right = 0
    with torch.no_grad():
        for s in range(0, len(idx), 256):
            b = idx[s:s + 256]
            right += int((m(torch.from_numpy(x[b]).to(dev)).argmax(1).cpu().numpy() == y[b]).sum())
    chance = float(np.bincount(y[idx]).max() / len(idx))
    return {"accuracy": right / len(idx), "chance": chance, "n_images": int(len(idx))}


def _gradient_summary(S, tau, lam: float) -> dict:
    """The one summary of a map the whole toolkit uses (``nets.measures.summarise``: eq. 5.1's moments, the
    DC-free headline ``moment1_nodc``, the radial curve), its radial standard errors and its agreement with tau."""
    from nets.measures import compare_sensitivity, radial_curve, summarise
    _, gse = radial_curve(S.se)
    return {**summarise(S.mean, S.n), "radial_se": gse.tolist(), "similarity": compare_sensitivity(S.mean, tau, lam)}


REPORTED = ("gradient", "heatmap")   # registered measures (nets.measures) this analysis reports; --measures
HEADLINE_DRAWS = 400   # parametric draws of each map for the verdict's interval (fixed seed)


def twin_verdict(S, St, tau, seed: int = 0) -> dict:
    """Is the model's map more tau-like than its untrained twin's? The difference model - twin of Spearman(S, tau)
    and of the headline ``moment1_nodc`` (eq. 5.1 over r > 0), each with a 95% interval from the maps' standard
    errors: every entry of each map is redrawn as ``mean + se * N(0, 1)`` (:data:`HEADLINE_DRAWS` times) and the
    statistic recomputed (the images' sampling noise, with entries taken as independent). Maps ``(C, H, W)``."""
    from scipy.stats import spearmanr

    from nets.measures import moment_without_dc, radial_curve
    rng = np.random.default_rng(seed)
    t = np.asarray(tau, float).ravel()

    def stats(mean):
        r, g = radial_curve(mean)
        rho = spearmanr(mean.ravel(), t).statistic if np.ptp(mean) > 0 and np.ptp(t) > 0 else 0.0   # flat: no order
        return rho, moment_without_dc(r, g, 1)
    point = np.subtract(stats(S.mean), stats(St.mean))
    draws = np.array([np.subtract(stats(np.maximum(S.mean + S.se * rng.standard_normal(S.mean.shape), 0)),
                                  stats(np.maximum(St.mean + St.se * rng.standard_normal(St.mean.shape), 0)))
                      for _ in range(HEADLINE_DRAWS)])
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    sp, m1 = (dict(difference=float(point[i]), ci=[float(lo[i]), float(hi[i])]) for i in range(2))
    more = sp["ci"][0] > 0 and m1["ci"][1] < 0
    less = sp["ci"][1] < 0 and m1["ci"][0] > 0
    verdict = ("more tau-like than its untrained twin" if more else "less tau-like than its untrained twin" if less
               else "not distinguishable from its untrained twin")
    return {"spearman": sp, "moment1_nodc": m1, "verdict": verdict}


def _finite(S, what: str) -> None:
    if not (np.isfinite(S.mean).all() and np.isfinite(S.se).all()):
        raise AnalyzeError(f"--model: the {what} has non-finite entries (the model's gradients overflow or are NaN "
                           "on some images); no map was written")


def prepare(cfg: AnalysisConfig, verbose: bool = False) -> Inputs:
    """Everything ``freqsens analyze`` checks before the output folder is touched: the model built (and its
    ``--weights`` loaded), the images read, the normalisation matched to the channels, the model's contract
    (:func:`check_forward`), its untrained twin, and labels the heat map can use; AnalyzeError names what failed."""
    model = load_model(cfg.model, cfg.weights, verbose)
    x, y, classes, notes = load_images(cfg.dataset, cfg.size, cfg.split, cfg.max_images, cfg.data_root, cfg.seed)
    normalise = None
    if cfg.mean is not None:
        if not (len(cfg.mean) == len(cfg.std) == x.shape[1]):
            raise AnalyzeError(f"--mean, --std: expected {x.shape[1]} values each (one per channel), got "
                               f"{len(cfg.mean)} and {len(cfg.std)}")
        normalise = (cfg.mean, cfg.std)
    K = check_forward(model, x, normalise, cfg.batch_size, verbose)
    twin = None
    if cfg.twin:
        twin, why = untrained_twin(cfg.model, model, cfg.seed, verbose)
        notes += [why] if why else []
    if "heatmap" in cfg.measures and int(y.max()) >= K:
        raise AnalyzeError(f"--dataset: labels go up to {int(y.max())} but the model has {K} outputs (the heat map "
                           "needs the data's labels to be the model's classes)")
    return Inputs(model, x, y, classes, normalise, K, twin, notes)


def analyze(cfg: AnalysisConfig, inputs: Inputs, overwrite: bool = False) -> dict:
    """Measures (of the model and of its untrained twin), tau, similarity, clean accuracy, warnings, figures and
    report into the folder ``cfg.out``, opened through ``infra.io.FolderLock`` (the output-folder rule, one
    writer, the marker); returns what ``analysis.json`` holds."""
    from infra.io import FolderLock
    from nets.runtime import configure
    with FolderLock(cfg.out, tool="nets.analyze", overwrite=overwrite):
        configure(cfg.threads)
        return _analyze(cfg, inputs)


def _analyze(cfg: AnalysisConfig, inputs: Inputs) -> dict:
    import torch
    from nets.measures import fourier_heat_map, moment, moment_without_dc, radial_curve
    from nets.plots import plot_map, plot_radial
    from theory.spectra import fourier_stats
    out = Path(cfg.out)
    t0 = time.time()
    model, x, y, normalise, K = inputs.model, inputs.x, inputs.y, inputs.normalise, inputs.K
    res = {"config": asdict(cfg), "images": int(len(x)), "shape": list(x.shape[1:]), "classes_of_model": K,
           "provenance": provenance(), "warnings": list(inputs.notes)}
    key = config_key({**res["config"], "n": len(x)})
    labels_fit = int(y.max()) < K
    if labels_fit:
        acc = res["accuracy"] = clean_accuracy(model, x, y, normalise, cfg.device, seed=cfg.seed)
        if acc["accuracy"] <= acc["chance"] + 0.05:
            res["warnings"].append(
                f"the model's accuracy on these images is {acc['accuracy']:.3f} against chance {acc['chance']:.3f}: it "
                "does not classify them (or the dataset's class order is not the model's), so its maps describe an "
                "untrained or mismatched classifier"
                + ("; no --mean/--std was given: if the model was trained on normalised images (torchvision's "
                   "Normalize), the likely cause is that it now sees [0, 1] pixels; pass its --mean and --std"
                   if not cfg.mean else ""))
    else:
        res["warnings"].append(f"the labels go up to {int(y.max())} but the model has {K} outputs: no accuracy check")
    tau = fourier_stats((x[s:s + 1024] for s in range(0, len(x), 1024))).tau          # pixel units
    atomic_save_npz(out / "tau.npz", tau=tau)
    rt, gt = radial_curve(tau)
    res["tau"] = {"moment1": moment(rt, gt, 1), "moment2": moment(rt, gt, 2),
                  "moment1_nodc": moment_without_dc(rt, gt, 1)}
    plot_map(tau, out / "tau.png", "data: tau (variance per frequency)", units="pixel units squared", label="tau")
    if "gradient" in cfg.measures:
        S = gradient_map(model, x, normalise, cfg.probes, cfg.batch_size, out, key, seed=cfg.seed, device=cfg.device)
        _finite(S, "gradient map")
        curves = {"model": S}
        res["gradient"] = {"probes": cfg.probes, **_gradient_summary(S, tau, cfg.lam)}
        if inputs.twin is not None:
            idx = stratified(y, cfg.twin_images, cfg.seed)
            St = gradient_map(inputs.twin, x[idx], normalise, cfg.probes, cfg.batch_size, out, key + "-twin",
                              seed=cfg.seed, device=cfg.device, name="twin")
            _finite(St, "untrained twin's gradient map")
            atomic_save_npz(out / "sensitivity_untrained.npz", mean=St.mean, se=St.se, n=St.n)
            res["twin"] = _gradient_summary(St, tau, cfg.lam)
            res["verdict"] = twin_verdict(S, St, tau, cfg.seed)
            curves["untrained twin"] = St
            a, b = res["gradient"]["similarity"]["spearman_tau"], res["twin"]["similarity"]["spearman_tau"]
            if b >= a - 0.05:
                res["warnings"].append(
                    f"the untrained twin agrees with tau as much as the model (Spearman {b:.3f} vs {a:.3f}): the map's "
                    "resemblance to tau comes from the architecture and the images, not from training")
        atomic_save_npz(out / "sensitivity.npz", mean=S.mean, se=S.se, n=S.n)
        plot_map(S.mean, out / "sensitivity.png", f"gradient sensitivity ({'%d probes' % cfg.probes if cfg.probes else 'exact'})",
                 se=S.se, units="per pixel-intensity unit")
        plot_radial({**curves, "tau (data)": tau}, out / "radial.png", "radial curves: model, untrained twin, data")
    if "heatmap" in cfg.measures:
        idx = stratified(y, cfg.heat_images, cfg.seed)
        n, H = len(idx), x.shape[-1]
        R = cfg.heat_max_frequency if cfg.heat_max_frequency is not None else (None if max(x.shape[-2:]) <= 64 else 16)
        hm = fourier_heat_map(model, torch.from_numpy(x[idx]), torch.from_numpy(y[idx].astype(np.int64)),
                              epsilon=cfg.epsilon, normalise=normalise if normalise else ([0.0] * x.shape[1], [1.0] * x.shape[1]),
                              max_frequency=R, device=cfg.device, progress=True)
        atomic_save_npz(out / "heatmap.npz", mean=hm.mean, se=hm.se, n=hm.n)
        clean = 1 - clean_accuracy(model, x[idx], y[idx], normalise, cfg.device, n=n)["accuracy"]
        hm_mask = np.isfinite(hm.mean)
        res["heatmap"] = {"n_images": n, "epsilon": cfg.epsilon, "max_frequency": R, "clean_error": clean,
                          "mean_error": float(np.nanmean(hm.mean)), "max_se": float(np.nanmax(hm.se)),
                          "frequencies_measured": int(hm_mask.sum()), "image_size": H}
        if "gradient" in res:   # the gradient map computed above, averaged over channels like the heat map
            from scipy.stats import spearmanr
            Sg, h = S.mean.mean(0)[hm_mask], hm.mean[hm_mask]
            # a constant heat map (every grating flips every image, or none) has no rank order
            res["heatmap"]["spearman_with_gradient"] = (float(spearmanr(h, Sg).statistic) if np.ptp(h) > 0 and
                                                        np.ptp(Sg) > 0 else None)
        _plot_heatmap(np.where(hm_mask, hm.mean, np.nan), R, cfg.epsilon, clean, out / "heatmap.png")
    res["seconds"] = round(time.time() - t0, 2)
    atomic_write_json(out / "analysis.json", res)
    atomic_write_text(out / "report.md", report(res))
    return res


def _plot_heatmap(fig_map: np.ndarray, R, epsilon: float, clean: float, path) -> None:
    """The heat map on signed-frequency axes, cropped to the measured band (|k| <= R), colour bar beside it."""
    from nets.plots import fft_extent, save, use_agg
    plt = use_agg()
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    Hh, Ww = fig_map.shape
    im = ax.imshow(np.fft.fftshift(fig_map), origin="lower", vmin=0, vmax=1, cmap="magma", extent=fft_extent(Hh, Ww))
    fig.colorbar(im, ax=ax, label="error rate under the grating")
    if R is not None:
        ax.set(xlim=(-R - 0.5, R + 0.5), ylim=(-R - 0.5, R + 0.5))
    ax.set(xlabel="k_j (cycles per image)", ylabel="k_i")
    ax.set_title(f"Fourier heat map, epsilon {epsilon:g}\nclean error {clean:.3f}", fontsize=10)
    save(fig, path)


def report(res: dict) -> str:
    from infra.tables import fmt, markdown_table
    c = res["config"]
    lines = [f"# Frequency analysis of `{c['model']}` on `{c['dataset']}`", "",
         f"{res['images']} images of shape {tuple(res['shape'])}, model with {res['classes_of_model']} outputs; "
         f"maps are per unit of pixel intensity (images in [0, 1]"
         + (f", normalised by the model's mean {c['mean']} and std {c['std']})." if c.get("mean") else ")."), ""]
    if res.get("warnings"):
        lines += ["## Warnings: read these first", ""] + [f"- {w}" for w in res["warnings"]] + [""]
    if "accuracy" in res:
        a = res["accuracy"]
        lines += [f"Clean accuracy on {a['n_images']} of these images: {a['accuracy']:.3f} (chance {a['chance']:.3f}).", ""]
    lines += ["## The data: tau", "", "![](tau.png)", "",
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
              + ". The paper's mechanism predicts that training makes this map more like tau than the untrained "
              "twin's (the same architecture, freshly initialised): compare the two columns, not the model's "
              "numbers alone, since an untrained CNN's map can already resemble tau.", "",
              "![](radial.png)", "",
              "How to read this: the radial curves of the model, its untrained twin and tau, each divided by its value "
              "at the smallest radius (shapes only); a model that learned the paper's bias falls closer to tau than "
              "its twin.", ""]
        t = res.get("twin")
        ts = t["similarity"] if t else {}

        def tw(v):
            return "-" if t is None else v
        v = res.get("verdict")
        if v:
            sp, m1 = v["spearman"], v["moment1_nodc"]
            lines += [f"**Verdict: the model is {v['verdict']}**: Spearman(S, tau) {fmt(s['spearman_tau'])} vs "
                      f"{fmt(ts['spearman_tau'])} (difference {fmt(sp['difference'])}, 95% interval "
                      f"[{fmt(sp['ci'][0])}, {fmt(sp['ci'][1])}]); moment1_nodc {fmt(g['moment1_nodc'])} vs "
                      f"{fmt(t['moment1_nodc'])} (difference {fmt(m1['difference'])}, [{fmt(m1['ci'][0])}, "
                      f"{fmt(m1['ci'][1])}]). More tau-like = Spearman higher and moment1_nodc lower than the twin's, both "
                      "intervals excluding 0 (intervals from the maps' standard errors).", ""]
        lines += markdown_table(
            ("statistic", "model", "untrained twin", "data (tau)", "meaning"),
            [("**moment1_nodc** (headline)", g["moment1_nodc"], tw(t["moment1_nodc"] if t else ""),
              res["tau"].get("moment1_nodc"), "eq. 5.1 over r > 0 (the experiments' headline); smaller = more "
              "concentrated at low frequencies"),
             ("moment 1 / moment 2 (eq. 5.1, DC included)", f"{fmt(g['moment1'])} / {fmt(g['moment2'])}",
              tw(f"{fmt(t['moment1'])} / {fmt(t['moment2'])}" if t else ""),
              f"{fmt(res['tau']['moment1'])} / {fmt(res['tau']['moment2'])}", "dominated by DC when DC is bright"),
             ("Spearman(S, tau)", s["spearman_tau"], tw(ts.get("spearman_tau")), 1.0,
              "rank agreement over all (c, i, j); 1 = same order (the ridge prediction of Prop. 4.19 has tau's order)"),
             ("Pearson(log S, log tau)", s["pearson_log_tau"], tw(ts.get("pearson_log_tau")), 1.0,
              "agreement of the power laws"),
             ("KL(radial S, radial tau)", s["radial_kl_to_tau"], tw(ts.get("radial_kl_to_tau")), 0.0,
              "0 = same radial distribution"),
             ("images", g["n_images"], tw(t["n_images"] if t else ""), res["images"],
              "the twin uses a stratified subset")]) + [""]
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
                 if h.get("spearman_with_gradient") is not None else
                 " The heat map is constant (every grating gives the same error), so it has no rank order." if
                 "spearman_with_gradient" in h else ""), ""]
    lines += [f"Computed in {res['seconds']} s. Config and versions: `analysis.json`.", ""]
    return "\n".join(lines)
