"""Learned Fourier weights vs convex solutions, and sensitivity vs the ridge/LASSO predictions.

* :func:`compare_linear`: fit a ``nets.models.LinearCNN`` (the FFT layers, i.e. the code path that trains
  real networks) tightly by full-batch L-BFGS in float64 with weight decay, then compare its end-to-end
  ``v_hat()`` with the ridge (L = 1) / nuclear-norm (L = 2) / local Schatten (L >= 3) solution of
  ``theory.regression`` on the same data, per frequency and overall. torch's ``weight_decay = wd`` is the
  penalty ``(wd/2)|w|^2``, so eq. 4.1's lambda is ``wd / 2`` and the v_hat problem's weight is
  ``lam_v = (wd / 2) (HW)^(-(L-1)/L)`` (``theory.equivalence.v_lambda``).
* :func:`compare_sensitivity`: how a sensitivity image follows tau: Spearman and log-log Pearson
  correlations with tau and with the Prop. 4.19 (ridge) / A.8 (LASSO) predictions, and radial moments.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.dft import dft2
from theory.equivalence import penalty_for_depth, predicted_lasso_sensitivity, predicted_ridge_shrinkage, v_lambda
from theory.regression import design, solve


@dataclass
class LinearComparison:
    depth: int
    weight_decay: float
    lam_v: float
    relative_error: float            # |v_hat_net - v_hat*| / |v_hat*|
    per_frequency_error: np.ndarray  # (H, W): |v_hat_net(k) - v_hat*(k)|_F / max_k' |v_hat*(k')|_F
    objective_gap: float             # (J_net - J*) / |J*|, both evaluated by theory.regression.objective
    train_accuracy: float


def fit_lbfgs(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, weight_decay: float,
              max_iter: int = 2000) -> float:
    """Full-batch L-BFGS on ``mean CE + (weight_decay / 2) sum |w|^2`` (torch's decay convention); returns the loss."""
    from theory._optim import lbfgs
    params = [p for p in model.parameters() if p.requires_grad]

    def objective():
        return torch.nn.functional.cross_entropy(model(x), y) + weight_decay / 2 * sum((p ** 2).sum() for p in params)

    lbfgs(params, objective, max_iter, tolerance_grad=1e-12)
    with torch.no_grad():
        return float(objective())


def compare_linear(x: np.ndarray, labels: np.ndarray, depth: int, weight_decay: float, width: int = 4,
                   seed: int = 0, max_iter: int = 2000) -> LinearComparison:
    """Train ``LinearCNN`` of ``depth`` (cross-entropy, weight decay) and compare with the convex v_hat solution."""
    from nets.models import LinearCNN
    from theory.regression import objective
    N, C, H, W = x.shape
    K = int(labels.max()) + 1
    torch.manual_seed(seed)
    model = LinearCNN((C,) + (width,) * (depth - 1) + (K,), (H, W)).double()
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(labels, dtype=torch.long)
    fit_lbfgs(model, xt, yt, weight_decay, max_iter)
    with torch.no_grad():
        acc = float((model(xt).argmax(1) == yt).double().mean())
    v_net = model.v_hat()
    lam_v = v_lambda(weight_decay / 2, depth, H, W)
    pen = penalty_for_depth(depth)
    d = design(dft2(x.astype(np.float64)), labels, "cross_entropy")
    sol = solve(d=d, lam=lam_v, penalty=pen, L=max(depth, 2), loss="cross_entropy",
                v0=v_net if depth >= 3 else None)
    diff = np.sqrt((np.abs(v_net - sol.v_hat) ** 2).sum(axis=(0, 1)))
    # relative to the largest frequency block: blocks the penalty sets to zero have no scale of their own
    ref = np.full(diff.shape, np.sqrt((np.abs(sol.v_hat) ** 2).sum(axis=(0, 1))).max())
    J_net = objective(d, v_net, lam_v, pen, max(depth, 2))
    return LinearComparison(depth, weight_decay, lam_v,
                            float(np.linalg.norm(v_net - sol.v_hat) / np.linalg.norm(sol.v_hat)),
                            diff / np.maximum(ref, 1e-300), (J_net - sol.objective) / abs(sol.objective), acc)


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr
    return float(spearmanr(np.ravel(a), np.ravel(b)).statistic)


def compare_sensitivity(S: np.ndarray, tau: np.ndarray, lam: float) -> dict:
    """Agreement of a sensitivity image ``S (C, H, W)`` with ``tau (C, H, W)`` and the predictions.

    Returns Spearman(S, tau), Pearson(log S, log tau), Spearman with the ridge shrinkage tau/(lam+tau)
    (Prop. 4.19; rank-equal to tau for lam > 0) and with the LASSO rule max(1 - lam/tau, 0) (Prop. A.8,
    |v_LS| taken flat), and the first radial moments (eq. 5.1) of S and of tau.
    """
    from nets.sensitivity import moment, radial_curve
    S, tau = np.asarray(S, float), np.asarray(tau, float)
    if S.shape != tau.shape:
        raise ValueError(f"S, tau: expected the same shape, got {S.shape} and {tau.shape}")
    pos = (S > 0) & (tau > 0)
    lasso = predicted_lasso_sensitivity(tau, lam)
    rs, gs = radial_curve(S)
    rt, gt = radial_curve(tau)
    return {"spearman_tau": _spearman(S, tau),
            "pearson_log_tau": float(np.corrcoef(np.log(S[pos]), np.log(tau[pos]))[0, 1]),
            "spearman_ridge": _spearman(S, predicted_ridge_shrinkage(tau, lam)),
            "spearman_lasso": _spearman(S, lasso) if np.ptp(lasso) > 0 else float("nan"),
            "moment1_S": moment(rs, gs, 1), "moment1_tau": moment(rt, gt, 1)}
