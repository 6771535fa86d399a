"""A user's model as untrusted code with a contract (``freqsens analyze --model MODULE:FACTORY``).

:func:`load_model` imports the module, calls the factory and loads ``--weights`` (``weights_only``);
:func:`check_forward` checks the logits on two images with gradients and on one full batch;
:func:`untrained_twin` builds the same architecture freshly initialised, the baseline every analysis
shows. Any failure of the user's code (an exception, a syntax error, ``sys.exit()``) is one
:class:`AnalyzeError` naming the module, the factory and the cause; the traceback only with ``verbose``.
"""
from __future__ import annotations

import importlib
import importlib.util

import numpy as np


class AnalyzeError(ValueError):
    """Bad input to the analysis; the message names the argument."""


def _user_call(what: str, fn, verbose: bool = False):
    """``fn()`` where ``fn`` runs the user's code (their module, factory or forward): any failure, including
    ``SystemExit`` from a stray ``sys.exit()``, becomes one AnalyzeError naming ``what`` and the cause; the
    user's own traceback is printed first only when ``verbose``."""
    import warnings
    try:
        with warnings.catch_warnings():
            if not verbose:   # the user's own warnings (deprecations, zero-size inits) are theirs: --verbose shows them
                warnings.simplefilter("ignore")
            return fn()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - user code: SystemExit, SyntaxError, anything
        if verbose:
            import traceback
            traceback.print_exc()
        cause = f"SystemExit({exc.code!r}) (the code called sys.exit)" if isinstance(exc, SystemExit) else \
            f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
        raise AnalyzeError(f"{what} failed ({cause})" + ("" if verbose else "; --verbose shows its traceback")) from None


def _state_dict(state, weights: str) -> dict:
    """The tensors of a weights file: a state dict, or one under ``"model"`` / ``"state_dict"`` (freqsens,
    Lightning and most training scripts), with DataParallel's ``module.`` prefix removed."""
    import torch
    for key in ("model", "state_dict", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise AnalyzeError(f"--weights: {weights} holds no state dict (a dict of tensors, or one under 'model' or "
                           "'state_dict'); save it with torch.save(model.state_dict(), PATH)")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _working_directory_on_path() -> None:
    """Put the working directory first on ``sys.path``, as ``python -m`` does, so that ``freqsens analyze --model
    mymodel:f`` (a console script, whose ``sys.path[0]`` is its own folder) finds ``./mymodel.py``."""
    import os
    import sys
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.insert(0, cwd)


def load_model(spec: str, weights: str | None = None, verbose: bool = False):
    """``MODULE:FACTORY`` -> the module ``FACTORY()`` returns, with ``weights`` loaded (weights_only=True).

    The user's module and factory are untrusted code with a contract: import and build happen here, before
    any output is written, and any failure is one AnalyzeError naming the module, the factory and the cause."""
    import torch
    mod_name, _, fn_name = spec.partition(":")
    if not mod_name or not fn_name:
        raise AnalyzeError(f"--model: expected MODULE:FACTORY (e.g. mypkg.models:resnet18), got {spec!r}")
    if mod_name.endswith(".py"):   # a file name where a module name belongs: say how to write it
        raise AnalyzeError(f"--model: expected MODULE:FACTORY with a module name, got the file name {mod_name!r}; "
                           f"write {mod_name[:-3].replace('/', '.')}:{fn_name} (run from the file's folder or set "
                           "PYTHONPATH to it)")
    if mod_name.startswith("."):
        raise AnalyzeError(f"--model: {mod_name!r} is a relative module name; give the absolute one (pkg.module)")
    _working_directory_on_path()
    try:
        module = _user_call(f"--model: importing {mod_name!r}", lambda: importlib.import_module(mod_name), verbose)
    except AnalyzeError as exc:
        if "ModuleNotFoundError" in str(exc) and importlib.util.find_spec(mod_name.split(".")[0]) is None:
            raise AnalyzeError(f"--model: cannot import {mod_name!r} (no such module on the path; run from its "
                               "folder or set PYTHONPATH)") from None
        raise
    factory = getattr(module, fn_name, None)
    if factory is None:
        raise AnalyzeError(f"--model: module {mod_name!r} has no {fn_name!r}")
    if not callable(factory):
        raise AnalyzeError(f"--model: {spec} is a {type(factory).__name__}, expected a function returning the model")
    model = _user_call(f"--model: {spec}()", factory, verbose)
    if not isinstance(model, torch.nn.Module):
        raise AnalyzeError(f"--model: {spec}() returned {type(model).__name__}, expected a torch.nn.Module")
    # a model on the meta device has shapes but no numbers (torch's deferred init): nothing to measure
    meta = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if meta:
        raise AnalyzeError(f"--model: {spec}() returned a model on the meta device ({len(meta)} tensors without "
                           f"values, e.g. {meta[0]!r}); build it on 'cpu' (or call .to_empty(device='cpu') and "
                           "load --weights)")
    if weights is not None:
        try:
            from infra.io import check_readable
            check_readable(weights, 16 << 30)   # a FIFO as --weights would hang, /dev/zero never end
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - missing, truncated or crafted files all end here
            hint = ("; a whole pickled model cannot be read safely: save model.state_dict() instead"
                    if "weights_only" in str(exc) or "Unpickl" in type(exc).__name__ else "")
            raise AnalyzeError(f"--weights: {weights} is not a readable weights file ({type(exc).__name__}){hint}") from None
        state = _state_dict(state, weights)
        mine = model.state_dict()
        missing = [k for k in mine if k not in state]
        unexpected = [k for k in state if k not in mine]
        shapes = [k for k in mine if k in state and tuple(mine[k].shape) != tuple(state[k].shape)]

        def few(keys):
            return ", ".join(keys[:4]) + (f" (+{len(keys) - 4} more)" if len(keys) > 4 else "")
        if missing or unexpected or shapes:
            parts = [f"missing {len(missing)}: {few(missing)}" if missing else "",
                     f"unexpected {len(unexpected)}: {few(unexpected)}" if unexpected else "",
                     "shape differs: " + few([f"{k} {tuple(state[k].shape)} vs {tuple(mine[k].shape)}" for k in shapes])
                     if shapes else ""]
            raise AnalyzeError(f"--weights: {weights} does not match the model's keys ("
                               + "; ".join(p for p in parts if p) + ")")
        _user_call(f"--weights: loading {weights}", lambda: model.load_state_dict(state), verbose)
    return model.eval()


def untrained_twin(spec: str, model, seed: int = 0, verbose: bool = False):
    """The untrained twin: the same factory called again, without ``--weights``, then every submodule's
    ``reset_parameters()`` under a fresh seed (so a factory that seeds itself or loads pretrained weights still
    yields a fresh initialisation): the architecture alone, the baseline that says how much of a map training
    made. ``(twin, None)``, or ``(None, why)`` when its weights still equal the model's."""
    import torch
    twin = load_model(spec, None, verbose)
    with torch.random.fork_rng():
        torch.manual_seed(10_007 + seed)
        for m in twin.modules():
            if callable(getattr(m, "reset_parameters", None)):
                _user_call(f"--model: {type(m).__name__}.reset_parameters()", m.reset_parameters, verbose)
    a, b = model.state_dict(), twin.state_dict()
    floats = [k for k in a if k in b and a[k].is_floating_point() and a[k].numel() > 1]
    if floats and all(torch.equal(a[k], b[k]) for k in floats):
        return None, ("no untrained baseline: the model's layers have no reset_parameters() and the factory returns "
                      "the same weights on every call, so the map cannot be compared with the architecture's own")
    return twin.eval(), None


def check_forward(model, x: np.ndarray, normalise, batch_size: int = 64, verbose: bool = False) -> int:
    """The model's contract, checked before anything is written: two images through the model with
    gradients (the measures differentiate it), then one full batch (a model that fails only at some batch
    sizes). The logits must be a real floating-point ``(N, K)`` tensor with ``K >= 1``, finite, and connected
    to the input's graph. Returns ``K``; AnalyzeError names what failed."""
    import torch
    from nets.measures import prepare
    m, _ = prepare(model, normalise, "cpu")
    shape = tuple(x.shape[1:])
    xi = torch.from_numpy(x[:2].copy()).requires_grad_(True)
    out = _user_call(f"--model: the forward pass on images of shape {shape}", lambda: m(xi), verbose)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        raise AnalyzeError(f"--model: expected (N, K) logits for N = 2 images of shape {shape}, got "
                           f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    if out.is_complex() or not out.is_floating_point():
        raise AnalyzeError(f"--model: expected real floating-point logits, got {out.dtype}")
    if out.shape[1] < 1:
        raise AnalyzeError("--model: the model has 0 outputs (expected K >= 1 logits)")
    if not bool(torch.isfinite(out).all()):
        raise AnalyzeError(f"--model: non-finite logits (NaN or inf) on the first images of shape {shape}; "
                           "every map would be meaningless")
    if not out.requires_grad:
        raise AnalyzeError("--model: the logits are detached from the input (no gradient flows back: .detach(), "
                           "numpy or torch.no_grad inside forward); the measures need d logits / d image")
    grad = _user_call("--model: the backward pass", lambda: torch.autograd.grad(out.sum(), xi, allow_unused=True)[0],
                      verbose)
    if grad is None:
        raise AnalyzeError("--model: the logits do not depend on the input image")
    nb = min(len(x), batch_size)
    if nb > 2:
        with torch.no_grad():
            full = _user_call(f"--model: the forward pass on a batch of {nb} images", lambda: m(torch.from_numpy(x[:nb])),
                              verbose)
        if not isinstance(full, torch.Tensor) or tuple(full.shape) != (nb, out.shape[1]):
            raise AnalyzeError(f"--model: a batch of {nb} images gave "
                               f"{tuple(full.shape) if isinstance(full, torch.Tensor) else type(full).__name__}, "
                               f"expected ({nb}, {out.shape[1]})")
        if not bool(torch.isfinite(full).all()):
            raise AnalyzeError(f"--model: non-finite logits (NaN or inf) on a batch of {nb} images")
    return int(out.shape[1])
