"""The sweep machinery every trained experiment uses: typed tasks, task folders keyed by a config hash,
true skips of finished tasks, one retry, the executor, and the per-run analysis helpers (tau, similarity).

A task is one training run plus its sensitivity map in ``OUT/runs/<model>-<key>`` (a ``nets.runs.Run``);
when it finishes it writes ``row.json`` (atomically) and a re-run returns that row without loading data or
models.
"""
from __future__ import annotations

import json
import sys
import time
import traceback
import zipfile
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from infra.io import atomic_write_json, config_key, crash_point
from nets.results import Results, read_json
from nets.runs import Run, TrainConfig, code_version
from nets.training import load_data

# How much data and training each preset affords, shared by every trained experiment; an experiment's
# own presets say what it varies. "quick" fits the whole "all" sweep in <= 20 minutes on 2 CPU cores
# (ConvActually only, models that pass the learning gate); "standard" is about 2 hours on 2 cores (more
# data, longer training, MyrtleCNN and ResNets); "cifar" / "cifar-quick" decide the paper's claims on
# CIFAR-10 in <= 2 h / <= 25 min on 2 cores (see CIFAR below); "tiny" is the same code path on a few hundred
# small images (tests and smoke runs); "paper" is appendix C.5 (a GPU). ``width``: one width for every
# family that takes one, or a dict family -> width (families not named keep their published width).
# ``accuracy_floor``: family -> the test accuracy a run must reach to enter a verdict (learning gate).
#
# CIFAR: 10,000 training images (of the 45,000 left after the validation split), 8 epochs, x0.1 once after
# epoch 5, so the last 3 epochs run at the same rate; the measured model is the last one ("last"), and the
# learning gate's loss test compares epochs 6 and 7, both at lr / 10: no schedule step between them.
CIFAR = dict(train=dict(n_train=10000, n_val=1000, n_test=2000, max_epochs=8, lr_drops=[5], batch_size=128,
                        checkpoint="last"),
             width={"convactually": 16, "myrtle": 16, "resnet20": 8}, base_decay=1e-4, sens_images=1000,
             small_sens_images=300, accuracy_floor={"convactually": 0.30, "myrtle": 0.40, "resnet20": 0.40},
             seeds=3, workers=2)
# CIFAR_CNN: the conventional CNNs (issue 33), on all 45,000 training images (MyrtleCNN) or 20,000 (ResNets:
# three variants x 4 decays + 3 depths must fit 2 h on 2 cores), 12 epochs, x0.1 after epochs 8 and 11, so the 3
# tracked epochs straddle the last drop. Why these: a pilot MyrtleCNN (width 16, 45,000 images, lr 0.05, no
# augmentation) reached validation accuracy 0.74 after 9 epochs and 0.80 after 11 (x0.1 at 9), ~65 s per epoch
# on one core (test accuracy 0.806 after 14 epochs, x0.1 at 9 and 12; published 0.84-0.87). A pilot ResNet-14
# (width 8, 30,000 augmented images, 12 epochs, x0.1 at 8 and 11) reached test accuracy 0.774 (published ResNet-9:
# 0.91-0.94). The preset first took 20,000 images; its first run (code 9a9ebe6ff7bb, stopped after 10 of 42 trained
# runs) needed ~540 s per pair of ResNet-14 runs on the 2 cores (2.3-3.1 h for the 42 runs), so it takes 15,000
# (0.75x the cost) to fit 2 h; those 10 runs reached validation accuracy 0.68-0.75 at 20,000. Floors fixed before the runs: 0.60 validation accuracy (6 x chance), below what the pilot reached
# in its 3rd epoch, so only a run that failed to train is excluded for accuracy.
CIFAR_CNN = dict(train=dict(n_train=45000, n_val=1000, n_test=10000, max_epochs=12, lr_drops=[8, 11],
                            batch_size=128),
                 width={"convactually": 16, "myrtle": 16, "resnet20": 8}, base_decay=1e-3, sens_images=1000,
                 small_sens_images=300, accuracy_floor={"myrtle": 0.60, "resnet20": 0.60}, seeds=3, workers=2)
CIFAR_RESNET = {**CIFAR_CNN, "train": {**CIFAR_CNN["train"], "n_train": 15000, "augment": True}}
SCALES = {
    "tiny": dict(train=dict(n_train=200, n_val=50, max_epochs=2, batch_size=64, patience=1), width=4,
                 base_decay=1e-4, sens_images=50, small_sens_images=30),
    "quick": dict(train=dict(n_train=2500, n_val=500, n_test=2000, max_epochs=10, lr_drops=[7, 9], batch_size=128),
                  width=16, base_decay=1e-4, sens_images=300, small_sens_images=150),
    "standard": dict(train=dict(n_train=8000, n_val=1000, n_test=2000, max_epochs=20, lr_drops=[14, 18], batch_size=128),
                     width={"convactually": 32}, base_decay=1e-4, sens_images=1000, small_sens_images=300),
    "cifar": CIFAR,
    "cifar-quick": CIFAR,
    "cifar-myrtle": CIFAR_CNN,
    "cifar-resnet": CIFAR_RESNET,
    "paper": dict(train=dict(), width={"convactually": 64}, base_decay=1e-9, sens_images=5000, small_sens_images=5000),
}


def scale_width(scale: dict, family: str) -> int | None:
    """The preset's width for a model family (None: the family's published width)."""
    w = scale["width"]
    return w.get(family) if isinstance(w, dict) else w


@dataclass
class Context:
    """What every experiment of one ``freqsens experiments`` call shares."""
    dataset: str
    preset: str
    seeds: int
    out: Path
    data_root: str | None = None
    image_shape: tuple[int, int, int] | None = None   # the CLI's validation load fills it: no second load
    device: str = "auto"

    @property
    def scale(self) -> dict:
        return SCALES[self.preset]

    @cached_property
    def shape(self) -> tuple[int, int, int]:
        """Image shape of the dataset (as the CLI found it; loaded here only when no caller did)."""
        if self.image_shape is not None:
            return tuple(self.image_shape)
        from nets.data import load_dataset
        return load_dataset(self.dataset, data_root=self.data_root).shape


@dataclass
class Task:
    """One training run and its sensitivity map. ``tags`` are the row's labels in the analysis."""
    train: TrainConfig
    sens_images: int
    tags: dict = field(default_factory=dict)
    key: str = ""

    @property
    def folder(self) -> Path:
        return Path(self.train.out)


def make_task(ctx: Context, tags: dict, model: str, seed: int, extra_train: dict | None = None, **train) -> Task:
    """A task for ``model`` at ``seed``: the model's preset hyperparameters, overridden by the scale's
    training sizes, then ``extra_train``, then ``train``; its folder is keyed by the whole config."""
    from nets.models import get_model_spec
    from nets.training import preset_defaults
    train_preset = "paper" if ctx.preset == "paper" else "quick"
    cfg = {**preset_defaults(train_preset, model), **ctx.scale["train"], **(extra_train or {}),
           "model": model, "dataset": ctx.dataset, "data_root": ctx.data_root, "seed": seed, "preset": train_preset,
           **train}
    spec = get_model_spec(model)
    if spec.uses_width and "width" not in train:   # the scale's width unless the experiment varies it
        cfg["width"] = scale_width(ctx.scale, spec.name)
    floor = ctx.scale.get("accuracy_floor", {}).get(spec.name)
    if floor is not None:
        tags = {**tags, "floor": floor}
    # deep nets with small kernels: sensitivity costs K backward passes through the net, so fewer images
    sens = ctx.scale["sens_images"] if spec.full_size else ctx.scale["small_sens_images"]
    # the settled-map gate (trends.GATE): the headline on the map's own validation images at each of the last
    # epochs, and the model measured is the last one, so the gate tests the map the verdicts use
    from nets.experiments.trends import GATE
    cfg.update(track_epochs=GATE["track_epochs"], track_images=sens, checkpoint="last")
    tc = TrainConfig.from_dict({**cfg, "device": ctx.device})
    key = config_key({**tc.identity(), "sens": sens, "code": code_version()}, 12)
    tc.out = str(Results(ctx.out).run(f"{model}-{key}"))
    return Task(tc, sens, {**tags, "seed": seed}, key)


def run_task(task: Task) -> dict:
    """Train (or resume) and compute the sensitivity map; a finished task returns its saved row at once.
    Retried once; errors are returned in the row (``"error"``), never raised."""
    from nets.measuring import measure_run
    from nets.runtime import configure
    from nets.training import train
    run = Run(task.folder)
    out, done = run.path, run.file("row")
    if done.exists():
        try:
            saved = read_json(done)
            run.map()   # the analysis will read it
            if saved.get("key") == task.key:   # a task shared by two experiments keeps each one's tags
                return {**task.tags, "key": task.key, "run": str(out), **saved["result"]}
        except (OSError, ValueError, EOFError, KeyError, AttributeError, zipfile.BadZipFile):
            # unreadable: redo the sensitivity (training resumes or is already finished), never use it
            run.file("summary").unlink(missing_ok=True)
    last_error, t0 = None, time.time()
    for attempt in range(2):
        try:
            configure(1)
            cfg = task.train
            data = load_data(cfg)   # memoised: a worker's runs on one data variant share one load
            res = train(cfg, data, resume=True, progress=False)
            if not run.exists("summary"):
                measure_run(out, "val", task.sens_images, data=data)
            sens = run.map_summary()
            result = {"test_acc": res["test_acc"], "val_acc": res["val_acc"], "attempts": attempt + 1,
                      "code_version": run.saved().get("code_version", "unrecorded"),
                      "measured_epoch": res.get("measured_epoch", res.get("best_epoch")),
                      **{k: sens[k] for k in ("moment1", "moment2", "moment1_nodc", "moment2_nodc", "midband_slope",
                                              "moment1_released") if k in sens},
                      "seconds": round(time.time() - t0, 1)}   # this task's wall time (training + map)
            atomic_write_json(done, {"key": task.key, "result": result})
            crash_point("row")
            return {**task.tags, "key": task.key, "run": str(out), **result}
        except Exception as exc:  # noqa: BLE001 - reported to the driver, never swallowed
            last_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return {**task.tags, "key": task.key, "run": str(out), "error": last_error, "attempts": 2}


def run_tasks(name: str, tasks: list[Task], workers: int = 1, scheduler: str | None = None) -> list[dict]:
    """Run tasks through the executor (all submitted at once, so a worker never waits for a slower twin),
    printing progress with an ETA as each finishes; rows come back in the tasks' order."""
    from infra.parallel import Executor
    t0 = time.time()
    print(f"[experiments] {name}: {len(tasks)} tasks", file=sys.stderr, flush=True)
    cost = [task_cost(t) for t in tasks]
    finished = [0.0]
    saved = [row_saved(t) for t in tasks]

    def progress(done: int, index: int) -> None:
        # the ETA from the cost model, not the task count: run longest first, the first tasks are the
        # costliest, and counting tasks overestimated the rest several-fold (a saved row costs nothing)
        dt = time.time() - t0
        finished[0] += 0.0 if saved[index] else cost[index]
        left = sum(c for c, s in zip(cost, saved) if not s) - finished[0]
        eta = eta_seconds(dt, finished[0], left)
        print(f"[experiments] {name}: {done}/{len(tasks)} tasks done ({dt:.0f} s, ETA "
              f"{'n/a' if eta is None else f'{eta:.0f} s'})", file=sys.stderr, flush=True)

    if all(row_saved(t) for t in tasks):   # only saved rows to read: no worker processes to start
        workers, scheduler = 1, None
    with Executor(workers, scheduler) as ex:
        return ex.map(run_task, tasks, progress=progress)


def eta_seconds(elapsed: float, cost_done: float, cost_left: float) -> float | None:
    """Seconds left if the work goes on at the rate so far, in :func:`task_cost` units: ``elapsed x cost_left /
    cost_done``; None before any cost is done. With W workers the rate already includes them."""
    return None if cost_done <= 0 else elapsed * max(cost_left, 0.0) / cost_done


def tau_for_run(run: str) -> np.ndarray:
    """tau of the normalised training images a run was trained on, cached once per data variant
    (dataset, filter, seed) in ``OUT/tau/`` so seeds and experiments sharing the data share the work.
    An unreadable cache file is recomputed."""
    from theory.spectra import fourier_stats
    cfg = Run(run).config()
    variant = {k: getattr(cfg, k) for k in ("dataset", "data_root", "filter", "seed", "n_train")}
    path = Results.of_run(run).tau(config_key(variant, 12))
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            pass
    tau = fourier_stats(load_data(cfg).batches("train", 2000)).tau
    from infra.io import atomic_write
    atomic_write(path, lambda f: np.save(f, tau))
    return tau


def similarity(row: dict) -> dict:
    """``compare_sensitivity`` of a finished row's map with its training data's tau (eq. 4.1 lambda), and for
    unfiltered data the first moments (with and without DC) of the map per pixel unit (``*_pixel``)."""
    from nets.measures import compare_sensitivity, moment, moment_without_dc, radial_curve
    from nets.training import eq41_lambda
    run = Run(row["run"])
    S, cfg = run.map(), run.config()
    out = compare_sensitivity(S, tau_for_run(row["run"]), eq41_lambda(cfg.weight_decay))
    norm = run.saved().get("normalisation")
    if norm is None and cfg.filter is None:   # a run saved before the normalisation was recorded
        norm = {"std": np.asarray(load_data(cfg).std, float).tolist(), "pixel_units": True}
    if (norm or {}).get("pixel_units"):   # the paper's units: per unit of [0, 1] pixel intensity, S_c / std_c
        r, g = radial_curve(S / np.asarray(norm["std"])[:, None, None])
        out.update(moment1_pixel=moment(r, g, 1), moment1_nodc_pixel=moment_without_dc(r, g, 1))
    return out


def gate_inputs(row: dict) -> dict:
    """What the learning gate (``trends.learning_gate``) reads of a finished row, from its run folder's
    ``result.json`` and ``metrics.jsonl``: validation accuracy, chance, the headline statistic at each tracked
    epoch (``track``) and the one before the last (``headline_prev``: the second checkpoint the verdicts are
    also computed from); as information, the training loss's change over the last epoch; and how much the
    weight decay could act: ``decay_exposure = weight_decay * sum over steps of lr`` (x 1 / (1 - momentum) for
    SGD, whose momentum multiplies every step), the exponent of the shrink factor exp(-exposure) the decay
    alone applies."""
    from nets.experiments.trends import HEADLINE
    run = Run(row["run"])
    res, metrics, cfg = run.result(), run.metrics(), run.config()
    losses = [m.get("train_loss_end", m["train_loss"]) for m in metrics]
    chance = res.get("chance")
    if chance is None:   # a run saved before result.json recorded it: the test split's most frequent class
        y = load_data(cfg).y_test[:cfg.n_test]
        chance = float(np.bincount(y).max() / len(y))
    from nets.experiments.trends import GATE
    # the last track_epochs tracked values: a reduce-on-plateau run tracks every epoch of its final rate
    track = [m["track"][HEADLINE] for m in metrics if "track" in m][-GATE["track_epochs"]:]
    n = run.saved().get("n_train", cfg.n_train or 0)
    # each metrics row records the lr *after* its epoch's scheduler step: epoch e ran at row e-1's lr
    lrs = [cfg.lr] + [m["lr"] for m in metrics[:-1]]
    boost = 1 / (1 - cfg.momentum) if cfg.optimizer == "sgd" else 1.0
    change = abs(losses[-1] - losses[-2]) / abs(losses[-2]) if len(losses) >= 2 and losses[-2] else float("nan")
    return {"chance": chance, "epochs": len(losses), "track": track,
            "headline_prev": track[-2] if len(track) >= 2 else float("nan"),
            "train_acc": metrics[-1]["train_acc"] if metrics else float("nan"), "train_loss_change": change,
            "decay_exposure": cfg.weight_decay * sum(lrs[:len(metrics)]) * -(-n // cfg.batch_size) * boost}


def family(row: dict) -> str:
    """The rows whose seed spread is pooled for the gate: same experiment, model, data variant and sweep."""
    return json.dumps([row.get(k) for k in ("experiment", "model", "data", "sweep")], default=str)


def apply_gate(rows: list[dict]) -> None:
    """:func:`gate_inputs` and ``trends.learning_gate`` for every finished row (``learned``, ``gate``,
    ``seed_spread``): the spread is pooled per :func:`family` over the final headline of all its runs, so the
    gate never depends on which runs it admits."""
    from nets.experiments.trends import HEADLINE, learning_gate, pooled_spread
    for r in rows:
        r.update(gate_inputs(r))
    for fam in {family(r) for r in rows}:
        sub = [r for r in rows if family(r) == fam]
        by = {}
        for r in sub:   # a setting: the run's whole training config but its seed
            by.setdefault(config_key({**Run(r["run"]).config().identity(), "seed": None}), []).append(r[HEADLINE])
        spread = pooled_spread(list(by.values()))
        for r in sub:
            r["seed_spread"] = spread
            r["learned"], r["gate"] = learning_gate(r["val_acc"], r["chance"], r["track"], spread, r.get("floor"))


def untrained_tasks(tasks: list[Task]) -> list[Task]:
    """One untrained twin (``max_epochs = 0``: the initial weights, seed 0) of every distinct configuration
    among ``tasks`` (tags without the seed): what initialisation alone gives the statistics."""
    seen, out = set(), []
    for t in tasks:
        tags = {k: v for k, v in t.tags.items() if k != "seed"}
        ident = json.dumps(tags, sort_keys=True, default=str)
        if ident in seen or t.tags.get("seed") != 0:
            continue
        seen.add(ident)
        train = {**asdict(t.train), "max_epochs": 0}
        key = config_key({**train, "out": None, "sens": t.sens_images, "code": code_version()}, 12)
        train["out"] = str(t.folder.parent / f"untrained-{key}")
        out.append(Task(TrainConfig(**train), t.sens_images, {**t.tags, "untrained": True}, key))
    return out


def flat_map_stats(shape) -> dict:
    """The statistics of a flat map (every frequency equally sensitive) on a ``(C, H, W)`` grid."""
    from nets.measures import summarise
    return {k: v for k, v in summarise(np.ones(shape), 0).items() if not k.startswith("radial") and k != "n_images"}


def with_baselines(tasks: list[Task]) -> list[Task]:
    """``tasks`` followed by their untrained twins (:func:`untrained_tasks`): what :func:`run_with_baselines` runs."""
    return tasks + untrained_tasks(tasks)


def run_with_baselines(pool, name: str, tasks: list[Task]) -> tuple[list[dict], list[dict]]:
    """Run ``tasks`` and their untrained twins in one pass: ``(rows, untrained rows)``."""
    rows = pool.run_tasks(name, with_baselines(tasks))
    return rows[:len(tasks)], rows[len(tasks):]


def task_cost(task: Task) -> float:
    """A task's relative cost, for longest-first scheduling: image passes of training plus the sensitivity
    map (K = 10 backward passes per image, ~5 training epochs' worth of one image), times depth + 1 (the
    layers of ConvActually plus one, so depth-1 runs still rank by their images; depth 4 assumed for models
    without a depth). Only the order matters, not the unit."""
    cfg = task.train
    layers = (cfg.depth or 4) + 1
    return ((cfg.max_epochs or 0) * (cfg.n_train or 50000) + 5 * task.sens_images) * layers


def row_saved(task: Task) -> bool:
    """True when the task's row is saved (``run_task`` will only read it)."""
    return Run(task.folder).file("row").exists()


def analyse_runs(rows: list[dict], untrained: list[dict] | None = None) -> tuple[list[dict], dict]:
    """Adds the similarity statistics and the learning gate (``learned``, ``gate``) to every finished row;
    returns ``(finished rows, result skeleton)`` (``trends.trend_table`` keeps only the rows that learned).
    The skeleton lists every run, the failed ones, the ones the gate excluded (with the reason), the
    untrained baselines and the flat map's statistics."""
    ok = [r for r in rows if "error" not in r]
    for r in ok:
        r.update(similarity(r))
    apply_gate(ok)
    base = [r for r in (untrained or []) if "error" not in r]
    for r in base:
        r.update(similarity(r))
    res = {"runs": rows, "failed": [r for r in rows if "error" in r],
           "excluded": [r for r in ok if not r["learned"]], "untrained": untrained or []}
    if ok:
        res["flat"] = flat_map_stats(Run(ok[0]["run"]).map().shape)
    return ok, res


def _map_runs(obj, fn):
    if isinstance(obj, dict):
        return {k: (fn(v) if k == "run" and isinstance(v, str) else _map_runs(v, fn)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map_runs(v, fn) for v in obj]
    return obj


def portable(res: dict, out) -> dict:
    """``res`` with every row's ``"run"`` path stored relative to the results folder ``out`` (``runs/<name>``),
    so a results folder moved or copied elsewhere reports the same from any working directory."""
    from pathlib import Path
    base = Path(out).resolve()

    def rel(run: str) -> str:
        p = Path(run).resolve()
        return str(p.relative_to(base)) if p.is_relative_to(base) else run
    return _map_runs(res, rel)


def localise(res: dict, out) -> dict:
    """The inverse of :func:`portable` for a result read from ``out``: relative ``"run"`` paths resolved
    against ``out`` (a path saved by older code relative to the working directory is kept when only it exists)."""
    from pathlib import Path

    def absolute(run: str) -> str:
        p = Path(run)
        if p.is_absolute() or (not (Path(out) / p).exists() and p.exists()):
            return run
        return str(Path(out) / p)
    return _map_runs(res, absolute)


def load_result(out, name: str) -> dict | None:
    """The saved result of experiment ``name`` in ``out``; None when missing or unreadable (a truncated or
    hand-edited file is rebuilt: its tasks are cached, so that costs the analysis only)."""
    path = Results(out).experiment(name)
    try:
        res = read_json(path) if path.exists() else None
    except (OSError, ValueError):
        print(f"[experiments] {path} is unreadable: rebuilding it", file=sys.stderr, flush=True)
        return None
    return localise(res, out) if isinstance(res, dict) else None
