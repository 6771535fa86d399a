"""Fourier heat maps (Yin et al. 2019): error rate under a perturbation along each Fourier basis vector.

For frequency k the grating is the real image ``v_k = (e_k + e_{-k}) / |e_k + e_{-k}|`` (``e_k`` the unitary
basis, so ``v_k`` is a cosine; conjugate frequencies share a value). Two conventions:

* published (``normalise=(mean, std)``, images in [0, 1] pixels): as in Yin et al.'s code, every channel
  gets ``epsilon * s_{n,c} * v_k`` with ``v_k`` of unit norm per channel and a random sign per image *and*
  channel; the result is clipped to [0, 1] and only then normalised for the model. epsilon = 4 for 32x32
  RGB in [0, 1] is their setting.
* input space (no ``normalise``): ``x + epsilon * s_n * v_k`` with ``v_k`` of unit norm over C x H x W and a
  random sign per image, on whatever the model takes, unclipped (what the quick experiments have used).

The map is the error rate per frequency (FFT order) with its binomial standard error. For large images,
``max_frequency=R`` measures only ``|ki|, |kj| <= R`` (the rest is NaN): the cost is one forward pass of
every image per measured frequency.
"""
from __future__ import annotations

import numpy as np
import torch

from nets.measures.base import Map, RunningMean, input_gradients_only, iter_batches, keeps_mode, prepare
from theory.dft import conjugate_indices, dft2, idft2, signed_frequencies


def _with_progress(items: list, desc: str, unit: str):
    """``items`` with progress on stderr: a tqdm bar on a terminal; otherwise (logs, CI, nohup) one line with
    the time estimate after the first item, then a line with the ETA at every tenth of the work."""
    import sys
    import time
    if sys.stderr.isatty():
        from tqdm import tqdm
        yield from tqdm(items, desc=desc, unit=unit[:4], file=sys.stderr)
        return
    n, t0, step, quiet = len(items), time.time(), max(1, len(items) // 10), False
    for k, item in enumerate(items, 1):
        yield item
        dt = time.time() - t0
        if k == 1:
            quiet = dt * n < 10   # a job of seconds needs no progress lines
        if quiet:
            continue
        if k == 1 and n > 1:
            print(f"[{desc}] {n} {unit}: about {dt * n:.0f} s in all (from the first one, {dt:.2f} s)",
                  file=sys.stderr, flush=True)
        elif k % step == 0 or k == n:
            print(f"[{desc}] {k}/{n} {unit} ({dt:.0f} s, ETA {dt / k * (n - k):.0f} s)", file=sys.stderr, flush=True)


def _check_epsilon(epsilon) -> None:
    if not (isinstance(epsilon, (int, float)) and np.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon: expected a finite number >= 0, got {epsilon!r}")


def _signs(N: int, C: int, seed: int, published: bool, dtype, device) -> torch.Tensor:
    """The grating's random signs ``(N, C)``: one per image and channel (published convention) or one per image,
    repeated over the channels (input space). Both heat maps draw them here, so the same ``seed`` gives the
    same gratings."""
    s = np.random.default_rng(seed).choice([-1.0, 1.0], (N, C) if published else N)
    return torch.tensor(s if published else np.repeat(s[:, None], C, axis=1), dtype=dtype, device=device)


@keeps_mode
def fourier_heat_map(model, x, y=None, *, epsilon: float = 4.0, seed: int = 0, batch_size: int = 500,
                     normalise=None, max_frequency: int | None = None, device=None, progress: bool = False) -> Map:
    """Error rate of ``model`` under the grating of every frequency k (see the module docstring for the two
    conventions). x: ``(N, C, H, W)`` (or batches), y: labels ``(N,)``; returns a :class:`Map` with
    ``mean, se: (H, W)`` in FFT order, se the binomial ``sqrt(p (1 - p) / N)``."""
    _check_epsilon(epsilon)
    model, device = prepare(model, normalise, device)
    parts = list(iter_batches(x, y, 10 ** 9 if isinstance(x, (torch.Tensor, np.ndarray)) else batch_size, device))
    x = torch.cat([p[0] for p in parts])
    if any(p[1] is None for p in parts):
        raise ValueError("y: the heat map needs labels")
    y = torch.cat([p[1] for p in parts])
    N, C, H, W = x.shape
    published = normalise is not None
    I, J = conjugate_indices(H, W)
    flat = np.arange(H * W).reshape(H, W)
    sign = _signs(N, C, seed, published, x.dtype, device)[:, :, None, None]
    ki, kj = np.abs(signed_frequencies(H)), np.abs(signed_frequencies(W))
    err = np.full((H, W), np.nan)
    todo = [(i, j) for i in range(H) for j in range(W) if flat[i, j] <= flat[I[i, 0], J[0, j]]
            and (max_frequency is None or (ki[i] <= max_frequency and kj[j] <= max_frequency))]
    if progress:
        todo = _with_progress(todo, "heat map", "frequencies")
    with torch.no_grad():
        for i, j in todo:
            unit = np.zeros((H, W), complex)
            unit[i, j] += 1
            unit[I[i, 0], J[0, j]] += 1
            v = idft2(unit).real
            v = v / np.linalg.norm(v) / (1.0 if published else np.sqrt(C))  # unit norm per channel / over C x H x W
            v = torch.tensor(v, dtype=x.dtype, device=device)
            wrong = 0
            for s in range(0, N, batch_size):
                xp = x[s:s + batch_size] + epsilon * sign[s:s + batch_size] * v
                if published:
                    xp = xp.clamp(0.0, 1.0)
                wrong += int((model(xp).argmax(1) != y[s:s + batch_size]).sum())
            err[i, j] = err[I[i, 0], J[0, j]] = wrong / N
    return Map(err, np.sqrt(err * (1 - err) / N), N,
               {"measure": "heatmap", "epsilon": epsilon, "max_frequency": max_frequency,
                "convention": "published: pixel space, sign per image and channel, clipped to [0, 1]" if published
                else "input space, sign per image, unclipped"})


@keeps_mode
def first_order_heat_map(model, x, y=None, *, epsilon: float = 4.0, seed: int = 0, batch_size: int = 256,
                         normalise=None, device=None) -> Map:
    """The heat map's first-order counterpart: ``E_n || J_n (epsilon s_n * v_k) ||_2``, the expected change of
    the K logits under the same grating and signs as :func:`fourier_heat_map` (same ``seed``), to first order.

    It links the two measures: gradient sensitivity is ``E_n ||J_n e_k||`` on one complex basis vector, the
    heat map counts label flips under a finite grating ``v_k``, and this map is the linear response to that
    grating. ``<g, v_k> = sqrt2 Re dft2(g)_k`` (``Re dft2(g)_k`` at self-conjugate k) per channel, so one
    batched backward pass per output gives every frequency. Returns ``mean, se: (H, W)``, FFT order.
    ``y`` is not used (the measure signature of every measure is ``(model, x, y=None, **options)``).
    """
    _check_epsilon(epsilon)
    model, device = prepare(model, normalise, device)
    x = torch.cat([p[0] for p in iter_batches(x, None, 10 ** 9 if isinstance(x, (torch.Tensor, np.ndarray))
                                             else batch_size, device)])
    N, C, H, W = x.shape
    published = normalise is not None
    sign = _signs(N, C, seed, published, x.dtype, device)   # the same draws as fourier_heat_map
    sign = sign if published else sign / np.sqrt(C)         # input space: unit norm over C x H x W
    I, J = conjugate_indices(H, W)
    selfconj = torch.tensor((np.arange(H)[:, None] == I) & (np.arange(W)[None, :] == J), device=device)
    factor = torch.where(selfconj, 1.0, np.sqrt(2.0)).to(x.dtype)
    acc = RunningMean()
    with input_gradients_only(model):   # only input gradients are wanted
        for s in range(0, N, batch_size):
            xb = x[s:s + batch_size].detach().clone().requires_grad_(True)
            out = model(xb)
            K = out.shape[1]
            cot = torch.zeros((K,) + tuple(out.shape), dtype=out.dtype, device=device)
            cot[torch.arange(K), :, torch.arange(K)] = 1
            (g,) = torch.autograd.grad(out, xb, grad_outputs=cot, is_grads_batched=True)   # (K, B, C, H, W)
            a = dft2(g).real * factor                                                        # <g, v_k> per channel
            delta = epsilon * (a * sign[s:s + batch_size][None, :, :, None, None]).sum(2)              # (K, B, H, W)
            acc.update(delta.pow(2).sum(0).sqrt())
    return acc.result(measure="first-order heat map", epsilon=epsilon,
                      convention="published: pixel space, sign per image and channel" if published
                      else "input space, sign per image")
