"""Measures of a trained classifier: a registry of functions ``(model, x, y, **options) -> Map``.

* ``gradient``: frequency sensitivity ``E_x ||(<grad f_k, e_cij>)_k||`` (appendix C.2; ``gradient.py``);
* ``gradient_probes``: the same from m random probes, for many classes (``gradient.py``);
* ``loss_gradient``: ``E_x |<grad_x CE, e_cij>|`` (``gradient.py``);
* ``heatmap``: Fourier heat map, error under a grating per frequency (Yin et al. 2019; ``heatmap.py``).

``radial`` (curves, eq. 5.1 moments) and ``similarity`` (agreement with tau) summarise any measure's map.
To add a measure: a module with the function and one ``register_measure(MeasureSpec(...))`` line below.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra.registry import Registry

from nets.measures.base import Map, Normalised, RunningMean, iter_batches, prepare
from nets.measures.gradient import frequency_sensitivity, loss_gradient_sensitivity, probe_sensitivity
from nets.measures.heatmap import first_order_heat_map, fourier_heat_map
from nets.measures.radial import (dc_robust, midband_slope, moment, moment_without_dc, postprocess, radial_curve,
                                  released_moment, released_radial_curve, summarise)
from nets.measures.similarity import compare_sensitivity, radial_kl


@dataclass(frozen=True)
class MeasureSpec:
    """A measure: ``fn(model, x, y=None, **options) -> Map`` (every measure has this signature), a summary,
    and whether it needs labels."""
    name: str
    fn: Callable[..., Map]
    summary: str = ""
    needs_labels: bool = False


_REGISTRY: Registry[MeasureSpec] = Registry("measure")


def register_measure(spec: MeasureSpec) -> MeasureSpec:
    """Add (or replace) a measure: one spec object, as every registry takes."""
    return _REGISTRY.register(spec.name, spec)


unregister_measure, measure_names = _REGISTRY.unregister, _REGISTRY.names


def measure(name: str, model, x, y=None, **options) -> Map:
    """Run a registered measure on ``model`` and images ``x (N, C, H, W)`` (labels ``y (N,)`` if it needs them)."""
    entry = _REGISTRY.get(name)
    if entry.needs_labels and y is None:
        raise ValueError(f"y: measure {name!r} needs labels")
    return entry.fn(model, x, y, **options)


register_measure(MeasureSpec("gradient", frequency_sensitivity,
                             "frequency sensitivity E||(<grad f_k, e_cij>)_k|| (appendix C.2)"))
register_measure(MeasureSpec("gradient_probes", probe_sensitivity,
                             "the gradient map estimated from random probes (many classes)"))
register_measure(MeasureSpec("loss_gradient", loss_gradient_sensitivity, "E|<grad_x cross-entropy, e_cij>|",
                             needs_labels=True))
register_measure(MeasureSpec("heatmap", fourier_heat_map, "Fourier heat map: error under a grating (Yin et al. 2019)",
                             needs_labels=True))
register_measure(MeasureSpec("first_order_heatmap", first_order_heat_map,
                             "first-order heat map: expected logit change under the heat map's grating"))

__all__ = ["Map", "MeasureSpec", "Normalised", "RunningMean", "iter_batches", "prepare", "probe_sensitivity", "compare_sensitivity", "fourier_heat_map", "frequency_sensitivity",
           "first_order_heat_map", "loss_gradient_sensitivity", "measure", "measure_names", "moment", "moment_without_dc", "midband_slope",
           "dc_robust", "postprocess", "radial_curve", "released_moment", "released_radial_curve",
           "radial_kl", "register_measure", "summarise", "unregister_measure"]
