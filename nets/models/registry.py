"""The model registry: each model module declares a :class:`ModelSpec` (how to build it, its quick and
paper hyperparameters); training, the experiments and the throughput benchmark read them from here."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from infra.registry import Registry


@dataclass(frozen=True)
class ModelSpec:
    """A model family.

    build(depth, width, in_channels, classes, size, name) -> nn.Module taking ``(B, C, H, W)`` floats and
    returning ``(B, K)`` logits. ``quick`` / ``paper``: training hyperparameters of the presets (appendix
    C.5 for ``paper``); ``pattern``: a regular expression for parameterised names (``resnet(\\d+)``).
    """
    name: str
    build: Callable[..., nn.Module]
    summary: str
    quick: dict = field(default_factory=dict)
    paper: dict = field(default_factory=dict)
    pattern: str | None = None
    uses_depth: bool = False     # --depth means something for this family (else a given depth is refused)
    uses_width: bool = False     # --width means something for this family (else a given width is refused)
    default_width: int | None = None   # the width built when none is given (the published one)
    full_size: bool = False      # kernels as large as the image (sensitivity is cheap per image)

    def hyperparameters(self, preset: str) -> dict:
        if preset not in ("quick", "paper"):
            raise ValueError(f"preset: expected 'quick' or 'paper', got {preset!r}")
        return dict(self.quick if preset == "quick" else self.paper)


_REGISTRY: Registry[ModelSpec] = Registry("model")


def register_model(spec: ModelSpec) -> ModelSpec:
    return _REGISTRY.register(spec.name, spec)


unregister_model, model_names = _REGISTRY.unregister, _REGISTRY.names


def get_model_spec(name: str) -> ModelSpec:
    """The spec of a registered name, or of the family whose ``pattern`` matches it."""
    exact = _REGISTRY.find(name)
    if exact is not None:
        return exact
    for spec in _REGISTRY.values():
        if spec.pattern and re.fullmatch(spec.pattern, str(name)):
            return spec
    return _REGISTRY.get(name)   # raises, listing the registered names


MAX_DEPTH = 1000   # layers: beyond it only building the model takes minutes (and nothing deeper was ever trained)


def build_model(name: str, depth: int | None = None, width: int | None = None, in_channels: int = 3,
                classes: int = 10, size=(32, 32), **kw) -> nn.Module:
    """Build a registered model. ``depth`` / ``width``: None gives the family's default; a value for a
    family that does not take it (``uses_depth`` / ``uses_width``) is refused, never silently dropped."""
    spec = get_model_spec(name)
    for arg, v, used in (("depth", depth, spec.uses_depth), ("width", width, spec.uses_width)):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{arg}: expected an integer >= 1, got {v!r}")
        if arg == "depth" and v > MAX_DEPTH:
            raise ValueError(f"depth: expected an integer in 1..{MAX_DEPTH}, got {v} (--depth {v})")
        if not used:
            raise ValueError(f"{arg}: model {name!r} does not take a {arg} (its {arg} is fixed by its name); "
                             f"leave --{arg} out")
    return spec.build(depth=depth, width=width if width is not None else spec.default_width,
                      in_channels=in_channels, classes=classes, size=tuple(size), name=name, **kw)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
