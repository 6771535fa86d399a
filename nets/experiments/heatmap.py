"""Fourier heat maps (Yin et al. 2019) of the depth experiment's seed-0 models, next to their gradient
sensitivity (the heat map's first-order counterpart)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from infra.io import atomic_write
from infra.tables import markdown_table
from nets.experiments.registry import Experiment

PRESETS = {"tiny": dict(heat_images=20), "quick": dict(heat_images=50), "paper": dict(heat_images=1000)}


def run(ctx, p, runner) -> dict:
    import sys

    import torch
    from scipy.stats import spearmanr

    from nets.measures import fourier_heat_map
    from nets.training import load_trained
    depth = json.loads((ctx.out / "experiments" / "depth.json").read_text())
    rows = [r for r in depth["runs"] if "error" not in r and r.get("seed") == 0]
    out, data = [], None
    for i, r in enumerate(rows):
        print(f"[experiments] heatmap: {i + 1}/{len(rows)} ({Path(r['run']).name})", file=sys.stderr, flush=True)
        model, cfg, data = load_trained(r["run"], data=data)   # one dataset for every depth
        n = p["heat_images"]
        x = torch.from_numpy(np.ascontiguousarray(data.normalised("test")[:n]))
        y = torch.from_numpy(data.y_test[:n].astype(np.int64))
        hm = fourier_heat_map(model, x, y)
        atomic_write(Path(r["run"]) / "heatmap.npy", lambda f, m=hm.mean: np.save(f, m))
        S = np.load(Path(r["run"]) / "sensitivity.npz", allow_pickle=False)["mean"].mean(0)
        out.append({"run": r["run"], "depth": r.get("depth"), "spearman_heatmap_vs_sensitivity":
                    float(spearmanr(hm.mean.ravel(), S.ravel()).statistic), "mean_error": float(np.nanmean(hm.mean))})
    return {"maps": out}


def section(out, result) -> list[str]:
    lines = ["## Fourier heat maps (Yin et al. 2019) next to gradient sensitivity", ""]
    lines += markdown_table(("run", "depth", "mean error under perturbation", "Spearman(heat map, sensitivity)"),
                        [(Path(m["run"]).name, m["depth"], m["mean_error"], m["spearman_heatmap_vs_sensitivity"])
                         for m in result["maps"]])
    return lines + [""]


EXPERIMENT = Experiment("heatmap", "Fourier heat maps", PRESETS, run, section, needs=("depth",))
