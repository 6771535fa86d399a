"""Statistics for the hypotheses of Section 5: trends with bootstrap CIs over seeds, similarity to tau.

Hypothesis I: frequency sensitivity concentrates on high-variance (low) frequencies more as depth grows,
i.e. the radial moments (eq. 5.1) *decrease* with depth. Hypothesis II: the same with weight decay.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


MIN_POINTS = 4


def trend(xs, values_per_x, n_boot: int = 2000, seed: int = 0, direction: str = "decreasing") -> dict:
    """Spearman correlation of ``x`` with the seed-mean of a statistic, and a bootstrap CI over seeds.

    values_per_x: one list of per-seed values for each x. Bootstrap: resample the seeds of every x with
    replacement, recompute the means and the Spearman rho; 95% percentile interval. Verdict for a
    ``direction="decreasing"`` hypothesis: "supported" if the whole CI is < 0, "not supported" if it is > 0,
    else "inconclusive" (also with one seed, so no spread to resample, or fewer than MIN_POINTS = 4 values
    of x, where rank correlations cannot be significant).
    """
    xs = np.asarray(xs, float)
    vals = [np.asarray(v, float) for v in values_per_x]
    if len(xs) != len(vals) or len(xs) < 3:
        return {"spearman": float("nan"), "ci": [float("nan")] * 2, "verdict": "inconclusive",
                "reason": "fewer than 3 values of the varied parameter"}
    # with 3 points Spearman's rho takes only 4 values (+-1, +-0.5) and even rho = -1 has p = 1/6 under
    # random order, so a verdict needs >= MIN_POINTS values of the varied parameter
    means = np.array([v.mean() for v in vals])
    rho = float(spearmanr(xs, means).statistic) if np.ptp(means) > 0 else 0.0
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        m = np.array([rng.choice(v, len(v)).mean() for v in vals])
        boots.append(spearmanr(xs, m).statistic if np.ptp(m) > 0 else 0.0)
    lo, hi = (float(q) for q in np.nanpercentile(boots, [2.5, 97.5]))
    n_seeds = min(len(v) for v in vals)
    if n_seeds < 2 or len(xs) < MIN_POINTS:
        verdict = "inconclusive"
    elif direction == "decreasing":
        verdict = "supported" if hi < 0 else "not supported" if lo > 0 else "inconclusive"
    else:
        verdict = "supported" if lo > 0 else "not supported" if hi < 0 else "inconclusive"
    return {"spearman": rho, "ci": [lo, hi], "verdict": verdict, "seeds": n_seeds, "means": means.tolist()}


def trend_table(rows: list[dict], var: str, group: str | None = None, log_x: bool = False) -> dict:
    """Per group (e.g. model): :func:`trend` of moment1, moment2 (hypothesis: decreasing) and
    Spearman(S, tau) (increasing) against ``var`` over the finished rows (``log10`` of var if ``log_x``)."""
    out = {}
    groups = sorted({r.get(group) for r in rows}) if group else [None]
    for g in groups:
        sub = [r for r in rows if "error" not in r and (group is None or r.get(group) == g)]
        xs = sorted({r[var] for r in sub})
        entry = {}
        for stat in ("moment1", "moment2", "spearman_tau"):
            per = [[r[stat] for r in sub if r[var] == x] for x in xs]
            direction = "increasing" if stat == "spearman_tau" else "decreasing"
            entry[stat] = {**trend(np.log10(xs) if log_x else xs, per, direction=direction), "x": xs}
        out[str(g)] = entry
    return out
