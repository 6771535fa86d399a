"""The experiment registry. An experiment owns its presets, its tasks, its analysis and its report section
(as a PEPit example owns its theoretical reference): ``run(ctx, params, pool) -> result`` and
``section(out, result) -> Markdown lines``. The driver and the report know no experiment by name."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from infra.registry import Registry


@dataclass(frozen=True)
class TaskPool:
    """How an experiment runs its trained tasks (workers / Dask scheduler) and reads others' results."""
    workers: int = 1
    scheduler: str | None = None

    def run_tasks(self, name: str, tasks) -> list[dict]:
        from nets.experiments.sweep import run_tasks
        return run_tasks(name, tasks, self.workers, self.scheduler)


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    presets: dict                                   # preset name -> parameters (merged over nets.experiments.sweep.SCALES)
    run: Callable[..., dict]                        # run(ctx, params, pool) -> JSON-able result
    section: Callable[[Path, dict], list[str]]      # report lines from the saved result
    needs: tuple[str, ...] = ()                     # experiments whose saved results ``run`` reads
    in_all: bool = True                             # part of ``all``
    figures: tuple[str, ...] = field(default_factory=tuple)
    verdicts: Callable[[dict], list] | None = None  # verdicts(result) -> [summary.Verdict]: the report's first table
    # training(ctx, params) -> every sweep.Task that ``run`` will ask for (untrained twins included): the driver
    # trains the tasks of all selected experiments in one pool, longest first, before their analyses
    training: Callable[..., list] | None = None


_REGISTRY: Registry[Experiment] = Registry("experiment")


def register_experiment(exp: Experiment) -> Experiment:
    return _REGISTRY.register(exp.name, exp)


unregister_experiment, experiment_names, get_experiment = _REGISTRY.unregister, _REGISTRY.names, _REGISTRY.get


#: presets that decide one experiment's claims (issue 33's conventional CNNs, each <= 2 h on 2 cores): every
#: other experiment skips them and the report says so
FOCUSED = {"cifar-myrtle": ("decay",), "cifar-resnet": ("resnet",)}


def params(exp: Experiment, preset: str) -> dict:
    """The experiment's parameters for ``preset``; a preset it does not declare is an error naming those it does
    (a :data:`FOCUSED` preset that is not about this experiment: a skip, with the reason)."""
    if preset in FOCUSED and exp.name not in FOCUSED[preset]:
        return {"skip": f"the {preset} preset runs only {', '.join(FOCUSED[preset])}"}
    if preset not in exp.presets:
        raise ValueError(f"preset: experiment {exp.name!r} has no preset {preset!r}; it has {list(exp.presets)}")
    return dict(exp.presets[preset])
