"""Conjecture 4.13 / B.20 (generalised non-commutative Hölder): ``|A_L ... A_1|_r <= prod_l |A_l|_{p_l}``
for ``sum_l 1/p_l = 1/r``, all exponents > 0 (``p_l = inf`` allowed), computed stably and certified.

Ratio: ``prod_l |A_l|_{p_l} / |B|_r`` in log space from singular values, batched over samples, with rank
truncation (``theory.schatten.singular_values``: a round-off singular value 1e-16 would add 0.16 to
``sum s^r`` at r = 0.05). The conjecture says the ratio is >= 1.

Certificate (per sample), three links, each a classical theorem:

1. Horn (1950): ``prod_{i<=k} s_i(B) <= prod_{i<=k} prod_l s_i(A_l)`` for every k (log-majorisation);
2. Weyl's majorant theorem (t -> exp(r t) is increasing and convex, so weak majorisation is preserved):
   ``sum_i s_i(B)^r <= sum_i prod_l s_i(A_l)^r``;
3. Hölder for vectors with exponents ``p_l / r`` (``sum_l r / p_l = 1``):
   ``sum_i prod_l s_i(A_l)^r <= prod_l (sum_i s_i(A_l)^{p_l})^{r / p_l}``.

Chained, 1-3 give ``|B|_r^r <= prod_l |A_l|_{p_l}^r``: the conjecture, for every r > 0. (For two factors
this is the known Schatten-quasi-norm Hölder inequality; see Shang, Liu & Cheng 2016, "Unified Scalable
Equivalent Formulations for Schatten Quasi-Norms".) This module *checks* each link numerically per
sample; it does not prove anything. A sample whose ratio is below 1 while every link holds would be a bug
in this code, not a discovery.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from theory._validate import schatten_exponent
from theory.schatten import product, singular_values

CONSISTENCY = 1e-12   # |sum 1/p_l - 1/r| allowed, relative to 1/r


def check_exponents(ps, r: float) -> tuple[list[float], float]:
    """Validate ``p_l > 0`` (inf allowed), ``r > 0`` and the Hölder condition ``sum 1/p_l = 1/r``."""
    ps = [schatten_exponent(f"ps[{i}]", p) for i, p in enumerate(ps)]
    r = schatten_exponent("r", r, allow_inf=False)
    if len(ps) < 1:
        raise ValueError("ps: expected at least one exponent")
    inv = sum(0.0 if math.isinf(p) else 1.0 / p for p in ps)
    if abs(inv - 1.0 / r) > CONSISTENCY / r:
        raise ValueError(f"ps, r: exponents must satisfy sum 1/p_l = 1/r; got sum 1/p_l = {inv!r}, 1/r = {1 / r!r}")
    return ps, r


def r_from(ps) -> float:
    """``r = 1 / sum_l (1/p_l)`` (the exponent that makes ``ps`` Hölder-consistent)."""
    inv = sum(0.0 if math.isinf(p) else 1.0 / p for p in ps)
    if inv <= 0:
        raise ValueError("ps: at least one exponent must be finite")
    return 1.0 / inv


def log_norm_from_values(s: np.ndarray, p: float) -> np.ndarray:
    """``log |A|_p`` from singular values ``s: (..., k)`` (zeros allowed), stably: (1/p) logsumexp(p log s)."""
    with np.errstate(divide="ignore"):
        ls = np.log(s)
    if math.isinf(p):
        return ls[..., 0]
    m = ls[..., :1]
    safe = np.where(np.isfinite(m), m, 0.0)
    return np.where(np.isfinite(m[..., 0]), safe[..., 0] + np.log(np.sum(np.exp(p * (ls - safe)), axis=-1)) / p, -np.inf)


@dataclass
class Certificate:
    """Per-sample results (arrays of shape (S,)). Ratios are prod |A_l|_{p_l} / |B|_r.

    ``log_ratio_hi`` / ``log_ratio_lo``: the ratio's range when every computed singular value may be off by
    its round-off bound (``delta`` of :func:`certify`): the same error model under which the links are
    judged, so "below 1" means ``log_ratio_hi < 0``, not a float64 ratio a rounding error below 1.
    """
    log_ratio: np.ndarray
    horn_ok: np.ndarray        # link 1
    majorisation_ok: np.ndarray  # link 2
    holder_ok: np.ndarray      # link 3
    horn_slack: np.ndarray     # min over k of (RHS - LHS) in log space (>= -tol when link 1 holds)
    log_ratio_hi: np.ndarray
    log_ratio_lo: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        return np.exp(self.log_ratio)

    @property
    def below_one(self) -> np.ndarray:
        """The ratio is below 1 beyond its round-off: ``ratio_hi < 1`` (what the conjecture forbids)."""
        return self.log_ratio_hi < -1e-12

    @property
    def links_ok(self) -> np.ndarray:
        return self.horn_ok & self.majorisation_ok & self.holder_ok


def certify(factors: list[np.ndarray], ps, r: float, tol: float = 1e-9, rtol: float | None = None) -> Certificate:
    """Ratio and the three certificate links for a batch: ``factors[l]: (S, n_{l+1}, n_l)`` (A_1 first).

    ``tol``: relative slack for round-off in each link's comparison (log space for links 1 and 3).

    Round-off model (one for the ratio and the links): a computed singular value of a matrix M is off by at
    most ``delta = 16 n L eps prod_l s_1(A_l)`` for the product B (forming B, then its SVD) and
    ``16 n eps s_1(A_l)`` for a factor (its SVD), n the largest dimension (Weyl: |s_i(M + E) - s_i(M)| <=
    |E|_2). Singular values of B below ``delta`` are round-off and count as 0 in the ratio. At small r the
    ratio depends on singular values far below s_1 (``(1e-30)^0.05 = 0.03``), whose relative error float64
    cannot resolve, so the ratio comes with the range ``[ratio_lo, ratio_hi]`` that this model allows.
    """
    ps, r = check_exponents(ps, r)
    if len(factors) != len(ps):
        raise ValueError(f"factors, ps: expected one exponent per factor, got {len(factors)} and {len(ps)}")
    for l in range(1, len(factors)):
        if factors[l].shape[-1] != factors[l - 1].shape[-2]:
            raise ValueError(f"factors[{l}]: expected {factors[l - 1].shape[-2]} columns to compose, "
                             f"got shape {factors[l].shape}")
    B = product(factors)
    sA = [singular_values(A, rtol) for A in factors]
    # the computed product is accurate only to ~ eps * prod_l s_1(A_l) in absolute terms: singular values of
    # B below that are round-off (they would break Horn's link and inflate sum s^r at small r), so they are 0
    sB = singular_values(B, 0.0)                                 # (S, q)
    floor = 16 * max(B.shape[-2:]) * len(factors) * np.finfo(float).eps * np.prod([s[..., 0] for s in sA], axis=0)
    sB = np.where(sB > np.maximum(floor, (rtol if rtol is not None else 0) * sB[..., :1].squeeze(-1))[..., None], sB, 0.0)
    k = min([sB.shape[-1]] + [s.shape[-1] for s in sA])          # indices where every s_i is defined
    S = B.shape[0] if B.ndim == 3 else 1
    with np.errstate(divide="ignore"):
        lB = np.log(sB)
        lA = sum(np.log(s[..., :k]) for s in sA)                 # log prod_l s_i(A_l), i < k
    log_norms = sum(log_norm_from_values(s, p) for s, p in zip(sA, ps))
    log_B = log_norm_from_values(sB, r)
    log_ratio = log_norms - log_B
    # the same round-off model as the links: every singular value within its delta
    eps = np.finfo(float).eps
    dA = [16 * max(A.shape[-2:]) * eps * s[..., :1] for A, s in zip(factors, sA)]
    up = sum(log_norm_from_values(s + d, p) for s, d, p in zip(sA, dA, ps))
    down = sum(log_norm_from_values(np.maximum(s - d, 0.0), p) for s, d, p in zip(sA, dA, ps))
    sB_lo = np.maximum(sB - floor[..., None], 0.0)
    sB_hi = sB + floor[..., None]              # truncated ones may be anywhere in [0, delta]
    with np.errstate(invalid="ignore"):
        log_ratio_hi = np.nan_to_num(up - log_norm_from_values(sB_lo, r), nan=np.inf)
        log_ratio_lo = np.nan_to_num(down - log_norm_from_values(sB_hi, r), nan=-np.inf)
    # link 1 (Horn): cumulative sums of logs over i <= k, for k up to rank(B) (beyond, LHS = -inf)
    cB = np.cumsum(lB[..., :k], axis=-1)
    cA = np.cumsum(lA, axis=-1)
    finite = np.isfinite(cB)
    with np.errstate(invalid="ignore"):
        diff = np.where(finite, cA - cB, np.inf)
    scale = np.maximum(np.abs(np.where(finite, cB, 0.0)), 1.0)
    # round-off in log s_i(B) is ~ floor / s_i(B) (absolute error of the computed product), so the k-th
    # comparison gets that much extra slack, summed over i <= k
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = np.cumsum(np.where(sB[..., :k] > 0, floor[..., None] / sB[..., :k], 0.0), axis=-1)
    horn_slack = np.min((diff + noise) / scale, axis=-1)
    rank_B_beyond = np.any(sB[..., k:] > 0, axis=-1) if sB.shape[-1] > k else np.zeros(S, bool)
    horn_ok = (horn_slack >= -tol) & ~rank_B_beyond
    # link 2 (weak majorisation under exp(r t)): sum s_i(B)^r <= sum_i prod_l s_i(A_l)^r
    with np.errstate(divide="ignore"):
        lhs2 = _logsumexp(r * lB)
        rhs2 = _logsumexp(r * lA)
    maj_ok = lhs2 <= rhs2 + tol * np.maximum(np.abs(rhs2), 1.0)
    # link 3 (Hölder, exponents p_l / r): sum_i prod_l s_i^r <= prod_l |A_l|_{p_l}^r
    hold_ok = rhs2 <= r * log_norms + tol * np.maximum(np.abs(r * log_norms), 1.0)
    return Certificate(log_ratio.reshape(S), horn_ok.reshape(S), maj_ok.reshape(S), hold_ok.reshape(S),
                       horn_slack.reshape(S), np.reshape(log_ratio_hi, S), np.reshape(log_ratio_lo, S))


def _logsumexp(a: np.ndarray) -> np.ndarray:
    m = np.max(a, axis=-1, keepdims=True)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(m[..., 0]), safe[..., 0] + np.log(np.sum(np.exp(a - safe), axis=-1)), -np.inf)


def ratio_mpmath(factors: list[np.ndarray], ps, dps: int = 60):
    """The ratio (an ``mpmath.mpf``) recomputed with mpmath at ``dps`` digits from the exact float64 entries, with ``r`` derived
    from the ``p_l`` in mpmath arithmetic (so the exponents are exactly consistent)."""
    import mpmath as mp
    with mp.workdps(dps):
        mats = [mp.matrix([[mp.mpc(complex(v)) for v in row] for row in np.atleast_2d(A)]) for A in factors]
        Bm = mats[0]
        for A in mats[1:]:
            Bm = A * Bm
        P = [mp.inf if math.isinf(p) else mp.mpf(p) for p in ps]
        r = 1 / mp.fsum(0 if q == mp.inf else 1 / q for q in P)

        def norm(M, p):
            s = [abs(v) for v in mp.svd_c(M, compute_uv=False)]
            # rank truncation at the working precision: round-off singular values (~10^-dps relative) would
            # otherwise add (10^-dps)^p to sum s^p, which is not small for small p
            cut = max(s) * mp.mpf(10) ** (-(dps - 10))
            if p == mp.inf:
                return max(s)
            return mp.fsum(v ** p for v in s if v > cut) ** (1 / p)

        return mp.fprod(norm(A, p) for A, p in zip(mats, P)) / norm(Bm, r)
