"""python -m nets.experiments NAME: the paper's experiments (and beyond) as named, cached, resumable sweeps.

    python -m nets.experiments all --dataset embedded --preset quick --seeds 2 --out results/quick

Experiments: stats (Fig. 1), depth (Figs. 2-3, hypothesis I), decay (Figs. 4, 5, 7, hypothesis II),
resnet (Fig. 6, the residual counterexample), linear (learned v_hat vs convex solutions), spectra (spectral
swap: high-pass, whitened, inverted, synthetic fields), heatmap (Fourier heat maps next to gradient
sensitivity), all (everything, then the report). Each (model, hyperparameters, seed) is a task: a training
run plus its sensitivity map, in ``OUT/runs/<model>-<config hash>``; finished tasks are skipped on re-run,
a failed task is retried once and then reported (never dropped), and a killed sweep resumes. Tasks run
in-process, on ``--workers N`` local processes, or on a Dask cluster (``--scheduler tcp://...``; on Slurm,
start one with dask-jobqueue's ``SLURMCluster`` and pass its ``scheduler_address``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from theory._io import atomic_write_json

# per-preset settings; "quick" fits the whole "all" sweep in <= 20 minutes on 2 CPU cores
PRESETS = {
    "quick": dict(train=dict(n_train=3000, n_val=500, n_test=2000, max_epochs=5, batch_size=128, patience=2),
                  width=16, depths=[1, 2, 3, 4], decay_depth=3, decays=[1e-4, 1e-2, 5e-2], base_decay=1e-4,
                  myrtle_decays=[1e-4, 1e-2], myrtle_train=dict(n_train=800, n_val=200, n_test=500, max_epochs=2),
                  resnets=["resnet20"], resnet_decays=[1e-4, 1e-2], resnet_train=dict(n_train=1500, n_val=300, n_test=500, max_epochs=3),
                  spectra_depth=3, filters=["highpass:0.5", "whiten", "invert"], alphas=[1.0, 3.0],
                  sens_images=500, small_sens_images=150, heat_images=50, linear_n=400, linear_size=6, linear_decays=[1e-2], stats_images=20000),
    "paper": dict(train=dict(), width=64, depths=list(range(1, 10)), decay_depth=4,
                  decays=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1], base_decay=1e-9, myrtle_decays=[1e-5, 1e-4, 1e-3, 2e-3, 1e-2],
                  myrtle_train=dict(), resnets=["resnet20", "resnet56", "resnet9"], resnet_decays=[1e-5, 1e-4, 1e-3, 1e-2],
                  resnet_train=dict(), spectra_depth=4, filters=["highpass:0.5", "whiten", "invert"],
                  alphas=[1.0, 2.0, 3.0], sens_images=5000, small_sens_images=5000, heat_images=1000, linear_n=5000, linear_size=16,
                  linear_decays=[1e-3, 1e-2],
                  stats_images=None),
}
# CI-sized: the same code path on a few hundred small images (tests and smoke runs)
PRESETS["tiny"] = dict(train=dict(n_train=200, n_val=50, max_epochs=2, batch_size=64, patience=1), width=4,
                       depths=[1, 2, 3], decay_depth=2, decays=[1e-4, 1e-2, 1e-1], base_decay=1e-4,
                       myrtle_decays=[1e-4], myrtle_train=dict(n_train=100, n_val=50, max_epochs=1),
                       resnets=["resnet20"], resnet_decays=[1e-4], resnet_train=dict(n_train=100, n_val=50, max_epochs=1),
                       spectra_depth=2, filters=["highpass:0.5", "invert"], alphas=[1.0], sens_images=50, small_sens_images=30,
                       heat_images=20, linear_n=200, linear_size=4, linear_decays=[1e-2], stats_images=500)
PUBLISHED = {  # CIFAR-10 test accuracies (paper and released tables), for context only
    "convactually depth 1/2/4/8 (lambda 1e-5)": ".546/.612/.633/.624",
    "convactually depth 4, lambda 1e-5..0.1": ".628-.641", "myrtle, lambda 1e-5..1e-2": ".836-.869",
    "resnet9": ".912-.936", "convactually depth 4, high-pass data": "~.51",
}


@dataclass
class Context:
    dataset: str
    preset: str
    seeds: int
    out: Path
    data_root: str | None = None

    @property
    def p(self) -> dict:
        return PRESETS[self.preset]

    @property
    def shape(self) -> tuple[int, int, int]:
        from nets.data import load_dataset
        return load_dataset(self.dataset, data_root=self.data_root).shape


def _task(ctx: Context, tags: dict, model: str, seed: int, extra_train=None, **train) -> dict:
    from nets.train import TrainConfig, preset_defaults
    train_preset = "paper" if ctx.preset == "paper" else "quick"
    cfg = {**preset_defaults(train_preset, model), **ctx.p["train"], **(extra_train or {}),
           "model": model, "dataset": ctx.dataset, "data_root": ctx.data_root, "seed": seed, "preset": train_preset,
           **train}
    if model in ("convactually", "linearcnn"):
        cfg["width"] = ctx.p["width"]
    names = set(TrainConfig.__dataclass_fields__)
    tc = TrainConfig(**{k: v for k, v in cfg.items() if k in names})
    # MyrtleCNN / ResNets: sensitivity costs K backward passes through a deep net, so fewer images in quick
    sens = ctx.p["sens_images"] if model in ("convactually", "linearcnn") else ctx.p["small_sens_images"]
    key = hashlib.sha256(json.dumps({**tc.identity(), "sens": sens}, sort_keys=True).encode()).hexdigest()[:12]
    tc.out = str(ctx.out / "runs" / f"{model}-{key}")
    return {"train": asdict(tc), "sens_images": sens, "tags": {**tags, "seed": seed}, "key": key}


def run_task(task: dict) -> dict:
    """Train (or resume / skip) and compute the sensitivity map; retried once; errors are returned, not raised."""
    from nets import sensitivity
    from nets.runtime import configure
    from nets.train import TrainConfig, train
    out = Path(task["train"]["out"])
    last_error = None
    for attempt in range(2):
        try:
            configure(1)
            res = train(TrainConfig(**task["train"]), resume=True, progress=False)
            if not (out / "sensitivity.json").exists():
                sensitivity.run(out, "val", task["sens_images"])
            sens = json.loads((out / "sensitivity.json").read_text())
            return {**task["tags"], "key": task["key"], "run": str(out), "test_acc": res["test_acc"],
                    "val_acc": res["val_acc"], "moment1": sens["moment1"], "moment2": sens["moment2"],
                    "attempts": attempt + 1}
        except Exception as exc:  # noqa: BLE001 - reported to the driver, never swallowed
            last_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return {**task["tags"], "key": task["key"], "run": str(out), "error": last_error, "attempts": 2}


# ---- experiments: tasks and analyses ------------------------------------------------------------

def tasks_depth(ctx):
    return [_task(ctx, {"experiment": "depth", "model": "convactually", "depth": d}, "convactually", s, depth=d,
                  lam=ctx.p["base_decay"]) for d in ctx.p["depths"] for s in range(ctx.seeds)]


def tasks_decay(ctx):
    t = [_task(ctx, {"experiment": "decay", "model": "convactually", "lam": lam}, "convactually", s,
               depth=ctx.p["decay_depth"], lam=lam) for lam in ctx.p["decays"] for s in range(ctx.seeds)]
    return t + [_task(ctx, {"experiment": "decay", "model": "myrtle", "lam": lam}, "myrtle", s, ctx.p["myrtle_train"],
                      lam=lam) for lam in ctx.p["myrtle_decays"] for s in range(ctx.seeds)]


def tasks_resnet(ctx):
    return [_task(ctx, {"experiment": "resnet", "model": m, "lam": lam}, m, s, ctx.p["resnet_train"], lam=lam, depth=None)
            for m in ctx.p["resnets"] for lam in ctx.p["resnet_decays"] for s in range(ctx.seeds)]


def tasks_spectra(ctx):
    d = ctx.p["spectra_depth"]
    t = [_task(ctx, {"experiment": "spectra", "data": f}, "convactually", s, depth=d, lam=ctx.p["base_decay"], filter=f)
         for f in ["none"] + ctx.p["filters"] for s in range(ctx.seeds)]
    for a in ctx.p["alphas"]:
        C, H, W = ctx.shape
        n = ctx.p["train"].get("n_train", 10000)
        ds = f"synthetic:grf?alpha={a}&n_train={n}&n_val={max(n // 5, 50)}&n_test={max(n // 5, 50)}&C={C}&H={H}&W={W}"
        t += [_task(ctx, {"experiment": "spectra", "data": f"grf alpha={a}"}, "convactually", s, depth=d,
                    lam=ctx.p["base_decay"], dataset=ds) for s in range(ctx.seeds)]
    for t_ in t:
        if t_["train"]["filter"] == "none":
            t_["train"]["filter"] = None
    return t


TASKS = {"depth": tasks_depth, "decay": tasks_decay, "resnet": tasks_resnet, "spectra": tasks_spectra}


def _tau(run: str) -> np.ndarray:
    """tau of the normalised training images a run was trained on, cached once per data variant
    (dataset, filter, seed) in ``OUT/tau/`` so seeds and experiments sharing the data share the work."""
    from nets.train import TrainConfig, load_data
    from theory.spectra import fourier_stats
    cfg = TrainConfig(**json.loads((Path(run) / "config.json").read_text())["config"])
    variant = {k: getattr(cfg, k) for k in ("dataset", "data_root", "filter", "seed", "n_train")}
    path = Path(run).parent.parent / "tau" / (hashlib.sha256(json.dumps(variant, sort_keys=True).encode()).hexdigest()[:12] + ".npy")
    if path.exists():
        return np.load(path)
    data = load_data(cfg)
    tau = fourier_stats(data.batches("train", 2000)).tau
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, tau)
    return tau


def _similarity(row: dict) -> dict:
    from nets.compare import compare_sensitivity
    from nets.sensitivity import radial_curve
    from nets.statistics import radial_kl
    S = np.load(Path(row["run"]) / "sensitivity.npz")["mean"]
    tau = _tau(row["run"])
    lam = json.loads((Path(row["run"]) / "config.json").read_text())["config"]["lam"] / 2
    sim = compare_sensitivity(S, tau, lam)
    r, gs = radial_curve(S)
    _, gt = radial_curve(tau)
    sim["radial_kl_to_tau"] = radial_kl(r, gs, gt)
    return sim


def _trend_table(rows, var: str, group: str | None = None) -> dict:
    from nets.statistics import trend
    out = {}
    groups = sorted({r.get(group) for r in rows}) if group else [None]
    for g in groups:
        sub = [r for r in rows if "error" not in r and (group is None or r.get(group) == g)]
        xs = sorted({r[var] for r in sub})
        entry = {}
        for stat in ("moment1", "moment2", "spearman_tau"):
            per = [[r[stat] for r in sub if r[var] == x] for x in xs]
            direction = "increasing" if stat == "spearman_tau" else "decreasing"
            entry[stat] = {**trend(np.log10(xs) if var == "lam" else xs, per, direction=direction), "x": xs}
        out[str(g)] = entry
    return out


def analyse_rows(name: str, rows: list[dict]) -> dict:
    ok = [r for r in rows if "error" not in r]
    for r in ok:
        r.update(_similarity(r))
    res = {"runs": rows, "failed": [r for r in rows if "error" in r]}
    if name == "depth":
        res["hypothesis_I"] = _trend_table(ok, "depth", "model")
    elif name == "decay":
        res["hypothesis_II"] = _trend_table(ok, "lam", "model")
    elif name == "resnet":
        res["residual"] = _trend_table(ok, "lam", "model")
    elif name == "spectra":
        res["follows_tau"] = spectra_verdicts(ok)
    return res


SPECTRA_RULE = ("supported if Spearman(S, tau) > 0 for every seed and its mean is >= 0.1; not supported if the "
                "mean is <= 0; else inconclusive")


def spectra_verdicts(rows: list[dict]) -> dict:
    """Per data variant: does the sensitivity image follow tau (Spearman over all c, i, j), by SPECTRA_RULE."""
    out = {}
    for data in sorted({r["data"] for r in rows}):
        v = np.array([r["spearman_tau"] for r in rows if r["data"] == data])
        verdict = "supported" if v.min() > 0 and v.mean() >= 0.1 else "not supported" if v.mean() <= 0 else "inconclusive"
        out[data] = {"spearman_mean": float(v.mean()), "spearman_min": float(v.min()), "seeds": len(v),
                     "verdict": verdict}
    return out


def exp_stats(ctx) -> dict:
    from nets.stats import StatsConfig, compute, plot
    res = compute(StatsConfig(dataset=ctx.dataset, data_root=ctx.data_root, max_images=ctx.p["stats_images"]))
    figdir = ctx.out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    plot(res, figdir, ctx.dataset)
    np.save(ctx.out / "tau.npy", res["tau"])
    return {k: v for k, v in res.items() if not isinstance(v, np.ndarray)}


def exp_linear(ctx) -> dict:
    from nets.compare import compare_linear
    from nets.train import TrainConfig, load_data
    data = load_data(TrainConfig(dataset=ctx.dataset, data_root=ctx.data_root))
    n, s = ctx.p["linear_n"], ctx.p["linear_size"]
    x = data.normalised("train")[:n, :, :s, :s].mean(axis=1, keepdims=True).astype(np.float64)  # grey s x s crops
    y = data.y_train[:n]
    rows = []
    for L in (1, 2, 3):
        for wd in ctx.p["linear_decays"]:
            c = compare_linear(x, y, L, wd, width=4)
            rows.append({"depth": L, "weight_decay": wd, "lam_v": c.lam_v, "relative_error": c.relative_error,
                         "max_per_frequency_error": float(c.per_frequency_error.max()),
                         "objective_gap": c.objective_gap, "train_accuracy": c.train_accuracy,
                         "solver": "global (convex)" if L <= 2 else "local (Schatten-2/3 from the trained point)"})
    return {"data": f"{n} grey {s}x{s} crops of {ctx.dataset}, 10 classes, cross-entropy", "rows": rows}


def exp_heatmap(ctx, rows) -> dict:
    import torch
    from nets.heatmap import fourier_heat_map
    from nets.train import load_trained
    out = []
    for r in [r for r in rows if "error" not in r and r.get("seed") == 0]:
        model, cfg, data = load_trained(r["run"])
        n = ctx.p["heat_images"]
        x = torch.from_numpy(np.ascontiguousarray(data.normalised("test")[:n]))
        y = torch.from_numpy(data.y_test[:n].astype(np.int64))
        hm = fourier_heat_map(model, x, y)
        np.save(Path(r["run"]) / "heatmap.npy", hm)
        S = np.load(Path(r["run"]) / "sensitivity.npz")["mean"].mean(0)
        from scipy.stats import spearmanr
        out.append({"run": r["run"], "depth": r.get("depth"), "spearman_heatmap_vs_sensitivity":
                    float(spearmanr(hm.ravel(), S.ravel()).statistic), "mean_error": float(np.nanmean(hm))})
    return {"maps": out}


EXPERIMENTS = ("stats", "depth", "decay", "resnet", "linear", "spectra", "heatmap", "all")


def run_experiment(name: str, ctx: Context, workers: int = 1, scheduler: str | None = None) -> dict:
    """Run one experiment (tasks through the executor, then the analysis); results to OUT/experiments/NAME.json."""
    from theory._parallel import Executor
    t0 = time.time()
    if name == "stats":
        res = exp_stats(ctx)
    elif name == "linear":
        res = exp_linear(ctx)
    elif name == "heatmap":
        dep = json.loads((ctx.out / "experiments" / "depth.json").read_text()) if \
            (ctx.out / "experiments" / "depth.json").exists() else run_experiment("depth", ctx, workers, scheduler)
        res = exp_heatmap(ctx, dep["runs"])
    else:
        tasks = TASKS[name](ctx)
        print(f"[experiments] {name}: {len(tasks)} tasks", file=sys.stderr, flush=True)
        with Executor(workers, scheduler) as ex:
            rows = []
            for s in range(0, len(tasks), ex.size):
                wave = tasks[s:s + ex.size]
                rows += ex.map(run_task, wave)
                print(f"[experiments] {name}: {len(rows)}/{len(tasks)} tasks done ({time.time() - t0:.0f} s)",
                      file=sys.stderr, flush=True)
        res = analyse_rows(name, rows)
    res["seconds"] = round(time.time() - t0, 1)
    atomic_write_json(ctx.out / "experiments" / f"{name}.json", res)
    return res


def main(argv=None) -> int:
    from nets.data import DATASETS
    ap = argparse.ArgumentParser(prog="python -m nets.experiments", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=EXPERIMENTS, help="experiment to run")
    ap.add_argument("--dataset", default="embedded", help=f"one of {', '.join(DATASETS)} (default embedded)")
    ap.add_argument("--data-root", help="folder with cifar-10-batches-py (for --dataset cifar10)")
    ap.add_argument("--preset", default="quick", choices=list(PRESETS), help="quick (CPU minutes) or paper (GPU)")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per configuration (default 2)")
    ap.add_argument("--out", default="results/quick", help="results folder (default results/quick)")
    ap.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    ap.add_argument("--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster")
    ap.add_argument("--no-report", action="store_true", help="do not build the report at the end")
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.workers < 1:
        ap.error("--seeds and --workers must be >= 1")
    out = Path(args.out)
    ident = {"dataset": args.dataset, "preset": args.preset, "seeds": args.seeds, "data_root": args.data_root}
    marker = out / "experiment_config.json"
    if marker.exists() and json.loads(marker.read_text()) != ident:
        print(f"python -m nets.experiments: error: {out} holds results of a different config "
              f"({json.loads(marker.read_text())}); use another --out", file=sys.stderr)
        return 2
    from nets.data import DataError, load_dataset
    try:
        load_dataset(args.dataset, data_root=args.data_root)   # fail early, with the data error's message
    except DataError as exc:
        print(f"python -m nets.experiments: error: {exc}", file=sys.stderr)
        return 2
    atomic_write_json(marker, ident)
    ctx = Context(args.dataset, args.preset, args.seeds, out, args.data_root)
    names = [n for n in EXPERIMENTS if n != "all"] if args.name == "all" else [args.name]
    t0 = time.time()
    try:
        for n in names:
            print(f"[experiments] === {n} ===", file=sys.stderr, flush=True)
            run_experiment(n, ctx, args.workers, args.scheduler)
        if args.name == "all":
            _theory_extras(out)
    except ConnectionError as exc:
        print(f"python -m nets.experiments: error: {exc}", file=sys.stderr)
        return 2
    atomic_write_json(out / "timing.json", {"experiments": names, "seconds": round(time.time() - t0, 1)})
    if not args.no_report:
        from nets.report import build_report
        path = build_report(out)
        print(f"report: {path}")
    return 0


def _theory_extras(out: Path) -> None:
    """The theory check table and a short conjecture search, saved for the report."""
    from dataclasses import asdict as _asdict
    from theory.check import run_checks
    from theory.conjecture_search import SearchConfig, search
    atomic_write_json(out / "theory_check.json", {"results": [_asdict(r) for r in run_checks(instances=10)]})
    cdir = out / "conjecture"
    search(SearchConfig(chunk=128, adversarial_steps=50), cdir, samples=4000, resume=cdir.exists(), progress=False)


if __name__ == "__main__":
    sys.exit(main())
