"""Runs registered experiments in dependency order and saves each result to ``OUT/experiments/NAME.json``."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from infra.io import atomic_write_json
from nets.experiments.registry import TaskPool, experiment_names, get_experiment, params
from nets.experiments.sweep import Context, load_result, portable
from nets.results import Results, read_json


def _finished(name: str, ctx: Context) -> dict | None:
    """The saved result of ``name`` when it was computed with this preset's parameters and nothing failed."""
    saved = load_result(ctx.out, name)
    p = params(get_experiment(name), ctx.preset)
    return saved if saved is not None and saved.get("params") == p and not saved.get("failed") else None


def train_all(names: list[str], ctx: Context, pool: TaskPool = TaskPool()) -> dict:
    """Train every task the experiments ``names`` will ask for (``Experiment.training``) in one pool, longest
    first, so no worker idles at the end of one experiment while the other finishes its last run; the
    experiments then find their rows saved. Skips experiments already finished or left out by the preset.
    Returns ``{"seconds": wall time, "per_experiment": {experiment: {"tasks": n, "worker_seconds": s}}}`` (s: the
    tasks' own wall times, summed; a task read back from an earlier call counts its original time)."""
    from nets.experiments.sweep import task_cost
    planned, owner = {}, {}
    for name in names:
        exp = get_experiment(name)
        p = params(exp, ctx.preset)
        if exp.training is None or "skip" in p or _finished(name, ctx) is not None:
            continue
        for t in exp.training(ctx, p):
            planned.setdefault(str(t.folder), t)   # a task two experiments share is trained once
            owner.setdefault(str(t.folder), name)
    if not planned:
        return {}
    t0 = time.time()
    tasks = sorted(planned.values(), key=task_cost, reverse=True)
    rows = pool.run_tasks("training", tasks)
    spent: dict = {}
    for t, row in zip(tasks, rows):
        s = spent.setdefault(owner[str(t.folder)], {"tasks": 0, "worker_seconds": 0.0})
        s["tasks"] += 1
        s["worker_seconds"] = round(s["worker_seconds"] + row.get("seconds", 0.0), 1)
    return {"seconds": round(time.time() - t0, 1), "per_experiment": spent}


def run_experiment(name: str, ctx: Context, pool: TaskPool = TaskPool()) -> dict:
    """Run one experiment (its prerequisites first, if their results are missing); returns its result."""
    exp = get_experiment(name)
    for need in exp.needs:
        if load_result(ctx.out, need) is None:
            run_experiment(need, ctx, pool)
    p = params(exp, ctx.preset)
    saved = _finished(name, ctx)
    if saved is not None:
        print(f"[experiments] === {name} === (finished earlier: kept)", file=sys.stderr, flush=True)
        return saved
    t0 = time.time()
    print(f"[experiments] === {name} ===", file=sys.stderr, flush=True)
    # a preset may leave an experiment out ({"skip": why}): the result records why, and the report says it
    res = {"skipped": p["skip"]} if "skip" in p else exp.run(ctx, p, pool)
    res["params"] = p
    res["seconds"] = round(time.time() - t0, 1)
    atomic_write_json(Results(ctx.out).experiment(name), portable(res, ctx.out))
    return res


def names_for(name: str) -> list[str]:
    """``all`` -> every registered experiment in registration order; else ``[name]``."""
    if name == "all":
        return [n for n in experiment_names() if get_experiment(n).in_all]
    get_experiment(name)
    return [name]


class SweepError(ValueError):
    """The results folder holds another sweep's results, or its config is unreadable; the message says which."""


@dataclass
class SweepConfig:
    """One ``freqsens experiments`` call: which experiments, on what data, at which preset, where."""
    name: str = "all"
    dataset: str = "embedded"
    data_root: str | None = None
    preset: str = "quick"
    seeds: int = 2
    out: str = "results/quick"
    workers: int = 1
    scheduler: str | None = None
    device: str = "auto"
    overwrite: bool = False

    def identity(self) -> dict:
        """What ``OUT/experiment_config.json`` records: a folder holds the results of one identity only."""
        return {"dataset": self.dataset, "preset": self.preset, "seeds": self.seeds, "data_root": self.data_root}


def check_sweep(cfg: SweepConfig) -> tuple:
    """Everything that can be refused before the folder is touched: the folder's own identity (:class:`SweepError`),
    the device and scheduler (ValueError / ConnectionError) and the data (DataError). Returns the image shape."""
    import json

    from infra.parallel import check_scheduler
    from nets.data import load_dataset
    from nets.runtime import resolve_device
    marker = Results(cfg.out).file("config")
    if marker.exists():
        try:
            saved = read_json(marker)
        except (OSError, json.JSONDecodeError) as exc:
            raise SweepError(f"--out: {marker} is unreadable ({type(exc).__name__}: {exc}); use another --out") from None
        if saved != cfg.identity():
            raise SweepError(f"--out: {cfg.out} holds results of a different config ({saved}); use another --out")
    resolve_device(cfg.device)
    check_scheduler(cfg.scheduler)
    return load_dataset(cfg.dataset, data_root=cfg.data_root).shape   # fail early, with the data error's message


def sweep(cfg: SweepConfig) -> dict:
    """Run ``cfg.name`` (every experiment's training in one pool, longest first, then each experiment's analysis)
    into the results folder ``cfg.out``, opened through ``infra.io.FolderLock`` (the output-folder rule, one
    writer, the marker). The first complete ``all`` run records its wall time in ``timing.json``. Returns
    ``{"names", "failed" (tasks that failed after a retry), "spent" (training seconds per experiment)}``."""
    from infra.io import FolderLock, provenance
    shape = check_sweep(cfg)
    out = Results(cfg.out)
    with FolderLock(out.path, tool="nets.experiments", overwrite=cfg.overwrite):
        atomic_write_json(out.file("config"), cfg.identity())
        ctx = Context(cfg.dataset, cfg.preset, cfg.seeds, out.path, cfg.data_root, shape, cfg.device)
        pool = TaskPool(cfg.workers, cfg.scheduler)
        names, t0 = names_for(cfg.name), time.time()
        spent = train_all(names, ctx, pool)
        failed = sum(len(run_experiment(n, ctx, pool).get("failed", [])) for n in names)
        if cfg.name == "all" and failed == 0 and not out.file("timing").exists():
            # the first complete run's time; a re-run of finished work keeps it, so the report reproduces
            atomic_write_json(out.file("timing"), {"experiments": names, "seconds": round(time.time() - t0, 1),
                                                   "training": spent, **provenance()})
    return {"names": names, "failed": failed, "spent": spent}
