"""The dataset registry: a name -> loader table and the ``NAME?key=value&...`` spec parser.

A loader is any function returning an :class:`~nets.data.base.ImageData`; options after ``?`` become its
keyword arguments (numbers parsed), ``seed`` and ``data_root`` are passed when the loader takes them,
and an option it does not take is refused with the list of those it does.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from infra.registry import Registry
from nets.data.base import DataError, ImageData


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its name, the loader returning ``ImageData``, a one-line summary, arguments the name binds
    (``fixed``, e.g. ``kind="grf"``) and whether it is used as ``NAME:PATH`` (``takes_path``)."""
    name: str
    loader: Callable[..., ImageData]
    summary: str
    fixed: dict = field(default_factory=dict)   # arguments bound by the name (e.g. kind="grf")
    takes_path: bool = False                    # "NAME:PATH" passes PATH as the loader's ``path``


_REGISTRY: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add (or replace) a dataset (as every registry: one spec object; ``nets.models.register_model``,
    ``nets.measures.register_measure``, ``nets.experiments.register_experiment``)."""
    return _REGISTRY.register(spec.name, spec)


unregister_dataset, dataset_names = _REGISTRY.unregister, _REGISTRY.names


def parse_name(spec: str) -> tuple[str, dict]:
    """``"synthetic:grf?alpha=1.5&n_train=100"`` -> ``("synthetic:grf", {"alpha": 1.5, "n_train": 100})``."""
    if not isinstance(spec, str) or not spec:
        raise DataError(f"dataset: expected a name such as 'embedded', got {spec!r}")
    base, _, query = spec.partition("?")
    opts = {}
    for item in filter(None, query.split("&")):
        k, eq, v = item.partition("=")
        if not eq or not k:
            raise DataError(f"dataset {spec!r}: option {item!r} is not of the form key=value")
        try:
            opts[k] = int(v)
        except ValueError:
            try:
                opts[k] = float(v)
            except ValueError:
                opts[k] = v
    return base, opts


def load_dataset(spec: str, data_root=None, seed: int = 0, **overrides) -> ImageData:
    """Load a dataset by registered name with options (``name?key=value&...``); unknown names or options
    raise :class:`DataError` naming what is allowed."""
    base, opts = parse_name(spec)
    opts.update(overrides)
    entry, path = _REGISTRY.find(base), None
    if entry is None and ":" in base:
        head, _, path = base.partition(":")
        entry = _REGISTRY.find(head) if _REGISTRY.find(head) and _REGISTRY.find(head).takes_path else None
    if entry is None:
        names = [f"{e.name}:PATH" if e.takes_path else e.name for e in _REGISTRY.values()]
        raise DataError(f"dataset: unknown name {spec!r}; expected one of {', '.join(names)}")
    if entry.takes_path and not path:
        raise DataError(f"dataset {spec!r}: expected {entry.name}:PATH")
    params = inspect.signature(entry.loader).parameters
    fixed = dict(entry.fixed, **({"path": path} if entry.takes_path else {}))
    if "seed" in params and "seed" not in opts:
        fixed["seed"] = seed
    if "data_root" in params:
        fixed["data_root"] = data_root
    elif "root" in params:
        fixed["root"] = data_root
    unknown = [k for k in opts if k not in params or k in fixed or k in ("data_root", "root")]
    if unknown:
        allowed = [p for p in params if p not in fixed and p not in ("data_root", "root", "use_cache")]
        raise DataError(f"dataset {spec!r}: unknown option(s) {unknown}; allowed: {allowed}")
    bad = [k for k, v in opts.items() if isinstance(v, str)]
    if bad:
        raise DataError(f"dataset {spec!r}: option(s) {bad} must be numbers, got "
                        + ", ".join(f"{k}={opts[k]!r}" for k in bad))
    s = {**fixed, **opts}.get("seed")
    if s is not None and not (isinstance(s, int) and 0 <= s < 2**32):
        raise DataError(f"dataset {spec!r}: seed: expected an integer in [0, 2**32), got {s!r}")
    return entry.loader(**fixed, **opts)
