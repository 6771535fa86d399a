"""How a sensitivity map follows the data's variance tau: rank and log correlations with tau and with the
ridge (Prop. 4.19) and LASSO (Prop. A.8) predictions, radial KL, and radial moments (eq. 5.1)."""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from nets.measures.radial import dc_robust, moment, radial_curve
from theory.equivalence import predicted_lasso_sensitivity, predicted_ridge_shrinkage


def _spearman(a, b) -> float:
    return float(spearmanr(np.ravel(a), np.ravel(b)).statistic)


def radial_kl(r, g_s, g_tau) -> float:
    """KL divergence between the radial distributions (curves normalised to sum 1 over the exact radii)."""
    p = np.asarray(g_s, float) / np.sum(g_s)
    q = np.asarray(g_tau, float) / np.sum(g_tau)
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / np.maximum(q[keep], 1e-300))))


def compare_sensitivity(S: np.ndarray, tau: np.ndarray, lam: float) -> dict:
    """Agreement of a sensitivity image ``S (C, H, W)`` with ``tau (C, H, W)`` and the predictions.

    ``lam`` is eq. 4.1's lambda. Returns Spearman(S, tau), Pearson(log S, log tau), Spearman with the ridge
    shrinkage tau/(lam+tau) (Prop. 4.19; rank-equal to tau for lam > 0) and with the LASSO rule
    max(1 - lam/tau, 0) (Prop. A.8, |v_LS| taken flat), the first radial moments (eq. 5.1) of S and of
    tau, tau's DC-robust summaries (``*_tau``; ``radial.dc_robust``), and the KL divergence between their radial
    distributions.
    """
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
            "moment1_S": moment(rs, gs, 1), "moment1_tau": moment(rt, gt, 1),
            **{f"{k}_tau": v for k, v in dc_robust(rt, gt).items()},
            "radial_kl_to_tau": radial_kl(rs, gs, gt)}
