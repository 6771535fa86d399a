"""The sweep machinery every trained experiment uses: typed tasks, task folders keyed by a config hash,
true skips of finished tasks, one retry, the executor, and the per-run analysis helpers (tau, similarity).

A task is one training run plus its sensitivity map in ``OUT/runs/<model>-<key>``; when it finishes it
writes ``row.json`` (atomically) and a re-run returns that row without loading data or models.
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

# How much data and training each preset affords, shared by every trained experiment; an experiment's
# own presets say what it varies. "quick" fits the whole "all" sweep in <= 20 minutes on 2 CPU cores;
# "tiny" is the same code path on a few hundred small images (tests and smoke runs); "paper" is App. C.5.
SCALES = {
    "tiny": dict(train=dict(n_train=200, n_val=50, max_epochs=2, batch_size=64, patience=1), width=4,
                 base_decay=1e-4, sens_images=50, small_sens_images=30),
    "quick": dict(train=dict(n_train=3000, n_val=500, n_test=2000, max_epochs=5, batch_size=128, patience=2),
                  width=16, base_decay=1e-4, sens_images=500, small_sens_images=150),
    "paper": dict(train=dict(), width=64, base_decay=1e-9, sens_images=5000, small_sens_images=5000),
}


@dataclass
class Context:
    """What every experiment of one ``python -m nets.experiments`` call shares."""
    dataset: str
    preset: str
    seeds: int
    out: Path
    data_root: str | None = None

    @property
    def scale(self) -> dict:
        return SCALES[self.preset]

    @cached_property
    def shape(self) -> tuple[int, int, int]:
        """Image shape of the dataset (loaded once per context, not per access)."""
        from nets.data import load_dataset
        return load_dataset(self.dataset, data_root=self.data_root).shape


@dataclass
class Task:
    """One training run and its sensitivity map. ``tags`` are the row's labels in the analysis."""
    train: dict             # a nets.training.TrainConfig as a dict (picklable for the executor)
    sens_images: int
    tags: dict = field(default_factory=dict)
    key: str = ""

    @property
    def folder(self) -> Path:
        return Path(self.train["out"])


def make_task(ctx: Context, tags: dict, model: str, seed: int, extra_train: dict | None = None, **train) -> Task:
    """A task for ``model`` at ``seed``: the model's preset hyperparameters, overridden by the scale's
    training sizes, then ``extra_train``, then ``train``; its folder is keyed by the whole config."""
    from nets.models import get_model_spec
    from nets.training import TrainConfig, preset_defaults
    train_preset = "paper" if ctx.preset == "paper" else "quick"
    cfg = {**preset_defaults(train_preset, model), **ctx.scale["train"], **(extra_train or {}),
           "model": model, "dataset": ctx.dataset, "data_root": ctx.data_root, "seed": seed, "preset": train_preset,
           **train}
    spec = get_model_spec(model)
    if spec.uses_width and "width" not in train:   # the scale's width unless the experiment varies it
        cfg["width"] = ctx.scale["width"]
    names = set(TrainConfig.__dataclass_fields__)
    tc = TrainConfig(**{k: v for k, v in cfg.items() if k in names})
    # deep nets with small kernels: sensitivity costs K backward passes through the net, so fewer images
    sens = ctx.scale["sens_images"] if spec.full_size else ctx.scale["small_sens_images"]
    key = config_key({**tc.identity(), "sens": sens}, 12)
    tc.out = str(ctx.out / "runs" / f"{model}-{key}")
    return Task(asdict(tc), sens, {**tags, "seed": seed}, key)


def run_task(task: Task) -> dict:
    """Train (or resume) and compute the sensitivity map; a finished task returns its saved row at once.
    Retried once; errors are returned in the row (``"error"``), never raised."""
    from nets import sensitivity
    from nets.runtime import configure
    from nets.training import TrainConfig, load_data, train
    out = task.folder
    done = out / "row.json"
    if done.exists():
        try:
            saved = json.loads(done.read_text())
            with np.load(out / "sensitivity.npz", allow_pickle=False) as z:   # the analysis will read it
                z["mean"]
            if saved.get("key") == task.key:   # a task shared by two experiments keeps each one's tags
                return {**task.tags, "key": task.key, "run": str(out), **saved["result"]}
        except (OSError, ValueError, EOFError, json.JSONDecodeError, KeyError, zipfile.BadZipFile):
            # unreadable: redo the sensitivity (training resumes or is already finished), never use it
            (out / "sensitivity.json").unlink(missing_ok=True)
    last_error = None
    for attempt in range(2):
        try:
            configure(1)
            cfg = TrainConfig(**task.train)
            data = load_data(cfg)
            res = train(cfg, resume=True, data=data, progress=False)
            if not (out / "sensitivity.json").exists():
                sensitivity.run(out, "val", task.sens_images, data=data)
            sens = json.loads((out / "sensitivity.json").read_text())
            result = {"test_acc": res["test_acc"], "val_acc": res["val_acc"], "moment1": sens["moment1"],
                      "moment2": sens["moment2"], "attempts": attempt + 1}
            atomic_write_json(done, {"key": task.key, "result": result})
            crash_point("row")
            return {**task.tags, "key": task.key, "run": str(out), **result}
        except Exception as exc:  # noqa: BLE001 - reported to the driver, never swallowed
            last_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return {**task.tags, "key": task.key, "run": str(out), "error": last_error, "attempts": 2}


def run_tasks(name: str, tasks: list[Task], workers: int = 1, scheduler: str | None = None) -> list[dict]:
    """Run tasks through the executor in waves, printing progress with an ETA; rows come back in order."""
    from infra.parallel import Executor
    t0 = time.time()
    print(f"[experiments] {name}: {len(tasks)} tasks", file=sys.stderr, flush=True)
    rows: list[dict] = []
    with Executor(workers, scheduler) as ex:
        for s in range(0, len(tasks), ex.size):
            rows += ex.map(run_task, tasks[s:s + ex.size])
            dt = time.time() - t0
            eta = dt / len(rows) * (len(tasks) - len(rows))
            print(f"[experiments] {name}: {len(rows)}/{len(tasks)} tasks done ({dt:.0f} s, ETA {eta:.0f} s)",
                  file=sys.stderr, flush=True)
    return rows


def tau_for_run(run: str) -> np.ndarray:
    """tau of the normalised training images a run was trained on, cached once per data variant
    (dataset, filter, seed) in ``OUT/tau/`` so seeds and experiments sharing the data share the work.
    An unreadable cache file is recomputed."""
    from nets.training import load_data, read_config
    from theory.spectra import fourier_stats
    cfg = read_config(run)
    variant = {k: getattr(cfg, k) for k in ("dataset", "data_root", "filter", "seed", "n_train")}
    path = Path(run).parent.parent / "tau" / (config_key(variant, 12) + ".npy")
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
    """``compare_sensitivity`` of a finished row's map with its training data's tau (eq. 4.1 lambda)."""
    from nets.measures import compare_sensitivity
    from nets.training import eq41_lambda, read_config
    S = np.load(Path(row["run"]) / "sensitivity.npz", allow_pickle=False)["mean"]
    return compare_sensitivity(S, tau_for_run(row["run"]), eq41_lambda(read_config(row["run"]).weight_decay))


def analyse_runs(rows: list[dict]) -> tuple[list[dict], dict]:
    """Adds the similarity statistics to every finished row; returns ``(ok_rows, result skeleton)``."""
    ok = [r for r in rows if "error" not in r]
    for r in ok:
        r.update(similarity(r))
    return ok, {"runs": rows, "failed": [r for r in rows if "error" in r]}
