"""The paper's experiments (and beyond) as named, cached, resumable sweeps: one module each.

* ``stats`` (Fig. 1), ``control`` (mean-colour classifier), ``depth`` (Figs. 2-3, hypothesis I), ``decay`` (Figs. 4, 5, 7, hypothesis II),
  ``resnet`` (Fig. 6), ``linear`` (learned v_hat vs convex solutions), ``spectra`` (spectral swap),
  ``heatmap`` (Fourier heat maps next to gradient sensitivity), ``theory`` (identity checks, Conjecture
  4.13 search).

Each module defines ``EXPERIMENT`` (presets, ``run``, report ``section``); the sweep machinery is in
``sweep.py``. To add an experiment: a module with an ``Experiment`` and one ``register_experiment`` line
below (see README, "Extending"). ``freqsens experiments --help`` runs them.
"""
from nets.experiments import control, decay, depth, heatmap, linear, resnet, spectra, stats, theory_checks
from nets.experiments.registry import (Experiment, TaskPool, experiment_names, get_experiment, params,
                                       register_experiment, unregister_experiment)
from nets.experiments.sweep import SCALES, Context, Task, make_task, run_task

register_experiment(stats.EXPERIMENT)
register_experiment(control.EXPERIMENT)
register_experiment(depth.EXPERIMENT)
register_experiment(decay.EXPERIMENT)
register_experiment(resnet.EXPERIMENT)
register_experiment(linear.EXPERIMENT)
register_experiment(spectra.EXPERIMENT)
register_experiment(heatmap.EXPERIMENT)
register_experiment(theory_checks.EXPERIMENT)

__all__ = ["SCALES", "Context", "Experiment", "TaskPool", "Task", "experiment_names", "get_experiment", "make_task",
           "params", "register_experiment", "run_task", "unregister_experiment"]
