"""Theorem 4.9 numerically: a trained linear CNN (eq. 3.1) with weight decay vs the convex v_hat problem.

With the exact constants (``theory.linear_cnn``), weight decay ``lam sum_l |w^l|^2`` on an L-layer linear
CNN with full H x W kernels is equivalent to penalising its predictor by

    lam_v * pen_L(v_hat),   lam_v = lam * (HW)^(-(L-1)/L),
    pen_1 = sum|v_hat|^2 (ridge),  pen_2 = 2 sum_k |v_hat_k|_1 (nuclear),  pen_L = L sum_k |v_hat_k|_{2/L}^{2/L},

for any loss (the paper's eq. 4.10 without the factor ``(HW)^(-(L-1)/L)``). :func:`compare` trains the
network (torch, float64, full batch, L-BFGS), solves the v_hat problem with ``theory.regression`` and
reports relative gaps in objective and predictor. L = 1, 2 are convex (a global comparison); L >= 3 is
a local comparison (the Schatten problem is solved from the trained point), plus the balanced
factorization identity at the trained point.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import linear_cnn as lc
from theory.optim import lbfgs
from theory._validate import as_array, nonnegative
from theory.dft import dft2
from theory.regression import design, objective, solve


def penalty_for_depth(L: int) -> str:
    return "ridge" if L == 1 else "nuclear" if L == 2 else "schatten"


def v_lambda(lam: float, L: int, H: int, W: int) -> float:
    """``lam_v = lam * (HW)^(-(L-1)/L)``: Theorem 4.9's weight on the v_hat penalty, exact constant."""
    return float(lam) * float(H * W) ** (-(L - 1) / L)


@dataclass
class Trained:
    weights: list[np.ndarray]   # [w^1, ..., w^L], real
    objective: float            # (1/N) sum loss + lam sum |w|^2, recomputed in float64 numpy
    iterations: int


def train_linear_cnn(x, y, channels, lam: float, loss: str = "squared", seed: int = 0, max_iter: int = 3000,
                     restarts: int = 1) -> Trained:
    """Minimise ``(1/N) sum_n loss(f(x_n), y_n) + lam sum_l |w^l|_2^2`` over real weights of eq. 3.1.

    Torch float64, full batch, L-BFGS (strong Wolfe) from ``restarts`` seeded random initialisations;
    the forward pass is the Fourier network of eq. 3.12 (same DFT convention and constants as
    ``theory.linear_cnn``). x: ``(N, C, H, W)``; y: ``(N,)``/``(N, K)`` targets (squared) or ``(N,)``
    labels (cross_entropy); channels: ``(C, C_1, ..., C_{L-1}, K)``.
    """
    import torch
    x = as_array("x", x, ndim=4)
    lam = nonnegative("lam", lam)
    H, W = x.shape[-2:]
    xt = torch.tensor(x, dtype=torch.float64)
    if loss == "squared":
        yt = torch.tensor(np.asarray(y, dtype=np.float64).reshape(len(x), -1))
    elif loss == "cross_entropy":
        yt = torch.tensor(np.asarray(y, dtype=np.int64))
    else:
        raise ValueError(f"loss: expected 'squared' or 'cross_entropy', got {loss!r}")
    x_hat = dft2(xt)
    best = None
    for r in range(restarts):
        init = lc.random_weights(channels, H, W, np.random.default_rng([seed, r]), scale=None)
        ws = [torch.tensor(w, requires_grad=True) for w in init]

        def f():   # eq. 3.12 with its exact constants: the one Fourier forward pass of theory.linear_cnn
            return lc.forward_fourier(ws, x_hat).real

        def total():
            out = f()
            data = ((out - yt) ** 2).sum(1).mean() if loss == "squared" else \
                torch.nn.functional.cross_entropy(out, yt)
            return data + lam * sum((w ** 2).sum() for w in ws)

        opt = lbfgs(ws, total, max_iter, tolerance_grad=1e-14)
        with torch.no_grad():
            val = float(total())
        if best is None or val < best.objective:
            best = Trained([w.detach().numpy().copy() for w in ws], val, int(opt.state[opt._params[0]]["n_iter"]))
    return best


@dataclass
class Comparison:
    L: int
    loss: str
    lam: float                  # weight decay on the network (eq. 4.1's lambda)
    lam_v: float                # Theorem 4.9's weight on the v_hat penalty (exact constant)
    trained_objective: float    # J_w at the trained weights
    convex_objective: float     # J_v at the v_hat-problem solution (global for L <= 2, local for L >= 3)
    objective_gap: float        # (J_w - J_v*) / |J_v*|: ~0 when Theorem 4.9 holds and training converged
    v_hat_error: float          # |v_hat(trained) - v_hat*| / |v_hat*|
    balance_ratio: float        # sum|w|^2 / (L N^(-(L-1)/L) sum |v_hat|_{2/L}^{2/L}) at the trained point: >= 1, 1 if balanced
    paper_form_gap: float       # the same objective gap with the paper's lam_v = lam (no (HW) constant); NaN if skipped
    v_objective_gap: float      # (J_v(v_hat(trained)) - J_v*) / |J_v*|: the gap measured on the v_hat problem alone
    per_frequency_error: np.ndarray  # (H, W): |v_hat(trained)_k - v_hat*_k|_F / max_k' |v_hat*_k'|_F
    v_hat: np.ndarray           # (K, C, H, W): v_hat of the trained network
    v_hat_convex: np.ndarray | None = None   # (K, C, H, W): the v_hat-problem solution it is compared with


def compare(x, y, channels, lam: float, loss: str = "squared", seed: int = 0, restarts: int = 2,
            max_iter: int = 3000, fit=None, paper_form: bool = True) -> Comparison:
    """Train the linear CNN and compare it with the solution of the v_hat problem (Theorem 4.9).

    ``fit(x, y, channels, lam, loss, seed, max_iter, restarts) -> Trained`` trains the network (default
    :func:`train_linear_cnn`, the Fourier form of eq. 3.12); ``nets`` passes its FFT-layer ``LinearCNN``
    so that the network code that trains real CNNs is compared with the same convex optimum.
    x: ``(N, C, H, W)``; channels ``(C, C_1, ..., K)``; ``lam`` is eq. 4.1's lambda.
    """
    x = as_array("x", x, ndim=4)
    L = len(channels) - 1
    H, W = x.shape[-2:]
    tr = (fit or train_linear_cnn)(x, y, channels, lam, loss, seed, max_iter, restarts)
    v_tr = lc.v_hat(tr.weights)
    lam_v = v_lambda(lam, L, H, W)
    pen = penalty_for_depth(L)
    d = design(dft2(x), y, loss)
    sol = solve(d=d, lam=lam_v, penalty=pen, L=max(L, 2), v0=v_tr if L >= 3 else None, loss=loss)
    J_w = objective(d, v_tr, 0.0, "ridge") + lam * lc.weight_penalty(tr.weights)
    J_v = sol.objective
    paper = solve(d=d, lam=lam, penalty=pen, L=max(L, 2), v0=v_tr if L >= 3 else None, loss=loss).objective \
        if paper_form else float("nan")
    diff = np.sqrt((np.abs(v_tr - sol.v_hat) ** 2).sum(axis=(0, 1)))
    # relative to the largest frequency block: blocks the penalty sets to zero have no scale of their own
    ref = np.sqrt((np.abs(sol.v_hat) ** 2).sum(axis=(0, 1))).max()
    J_vtr = objective(d, v_tr, lam_v, pen, max(L, 2))
    return Comparison(L, loss, lam, lam_v, J_w, J_v, (J_w - J_v) / abs(J_v),
                      float(np.linalg.norm(v_tr - sol.v_hat) / max(np.linalg.norm(sol.v_hat), 1e-300)),
                      lc.weight_penalty(tr.weights) / lc.min_weight_penalty(v_tr, L), (J_w - paper) / abs(paper),
                      (J_vtr - J_v) / abs(J_v), diff / max(ref, 1e-300), v_tr, sol.v_hat)


# ---- predictions (Prop. 4.19, Prop. A.8) ----------------------------------------------------------

def predicted_ridge_shrinkage(tau, lam: float) -> np.ndarray:
    """Prop. 4.19 / eq. 4.18: sensitivity scales with ``tau / (lam + tau) = 1 / (1 + lam / tau)`` per frequency."""
    t = as_array("tau", tau)
    return t / (nonnegative("lam", lam) + t)


def predicted_lasso_sensitivity(tau, lam: float, v_ls_modulus=1.0) -> np.ndarray:
    """Prop. A.8 / eq. A.7: ``|v_hat_cij| = max(|v_LS,cij| - lam / tau_cij, 0)``: linear in lam / tau with slope -1."""
    t = as_array("tau", tau)
    lam = nonnegative("lam", lam)
    with np.errstate(divide="ignore"):
        return np.maximum(np.asarray(v_ls_modulus) - np.where(t > 0, lam / t, np.inf), 0.0)
