"""Runs registered experiments in dependency order and saves each result to ``OUT/experiments/NAME.json``."""
from __future__ import annotations

import sys
import time

from infra.io import atomic_write_json
from nets.experiments.registry import Runner, experiment_names, get_experiment, params
from nets.experiments.sweep import Context, load_result, portable
from nets.results import Results


def _finished(name: str, ctx: Context) -> dict | None:
    """The saved result of ``name`` when it was computed with this preset's parameters and nothing failed."""
    saved = load_result(ctx.out, name)
    p = params(get_experiment(name), ctx.preset)
    return saved if saved is not None and saved.get("params") == p and not saved.get("failed") else None


def train_all(names: list[str], ctx: Context, runner: Runner = Runner()) -> dict:
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
    rows = runner.run_tasks("training", tasks)
    spent: dict = {}
    for t, row in zip(tasks, rows):
        s = spent.setdefault(owner[str(t.folder)], {"tasks": 0, "worker_seconds": 0.0})
        s["tasks"] += 1
        s["worker_seconds"] = round(s["worker_seconds"] + row.get("seconds", 0.0), 1)
    return {"seconds": round(time.time() - t0, 1), "per_experiment": spent}


def run_experiment(name: str, ctx: Context, runner: Runner = Runner()) -> dict:
    """Run one experiment (its prerequisites first, if their results are missing); returns its result."""
    exp = get_experiment(name)
    for need in exp.needs:
        if load_result(ctx.out, need) is None:
            run_experiment(need, ctx, runner)
    p = params(exp, ctx.preset)
    saved = _finished(name, ctx)
    if saved is not None:
        print(f"[experiments] === {name} === (finished earlier: kept)", file=sys.stderr, flush=True)
        return saved
    t0 = time.time()
    print(f"[experiments] === {name} ===", file=sys.stderr, flush=True)
    # a preset may leave an experiment out ({"skip": why}): the result records why, and the report says it
    res = {"skipped": p["skip"]} if "skip" in p else exp.run(ctx, p, runner)
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
