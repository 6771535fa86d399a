"""Statistics for the hypotheses of Section 5: trends with an effect size and two CIs, and the learning gate.

Hypothesis I: frequency sensitivity concentrates on high-variance (low) frequencies more as depth grows,
i.e. the radial moments (eq. 5.1) *decrease* with depth. Hypothesis II: the same with weight decay.

A trend is judged on the **slope** of a statistic against the varied parameter (depth, or log10 of the
weight decay), fitted to the seed means:
* a percentile bootstrap CI (resample the seeds of every value with replacement), and
* a t-interval of the least-squares slope through every (value, seed) point (df = points - 2), which
  stays honest with 3 seeds, where a bootstrap over 3 values underestimates the spread.
Verdict: "supported" when *both* 95% intervals exclude 0 on the predicted side, "not supported" when
both exclude it on the other side, else "inconclusive" (measured: the intervals straddle 0 or disagree).
Spearman's rho of the seed means with its bootstrap CI is shown next to it as the rank view.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from scipy.stats import t as student_t

#: Statistics a trend table reports, with the direction the hypothesis predicts. The first decides the
#: headline verdict: the first moment *without* the DC term, because on the embedded data eq. 5.1's moment
#: is dominated by one pixel (r = 0) that mean colour alone explains (issue 12; ``control`` experiment).
STATISTICS = {"moment1_nodc": "decreasing", "moment1": "decreasing", "moment2_nodc": "decreasing",
              "moment2": "decreasing", "midband_slope": "decreasing", "spearman_tau": "increasing",
              "moment1_released": "decreasing"}
HEADLINE = "moment1_nodc"

#: The learning gate: a run enters a verdict only if its test accuracy is at least ``min_acc_ratio`` x chance
#: (and at least its model family's accuracy floor, where the preset states one) and its training loss (of
#: the model at the end of each epoch, over the whole training split) changed by at most ``max_loss_change``
#: (relative) over its last epoch.
GATE = {"min_acc_ratio": 2.0, "max_loss_change": 0.02}


def _slope(x, y) -> float:
    return float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else float("nan")


def _rho(x, y) -> float:
    return float(spearmanr(x, y).statistic) if np.ptp(y) > 0 else 0.0


def trend(xs, values_per_x, n_boot: int = 2000, seed: int = 0, direction: str = "decreasing") -> dict:
    """Slope and Spearman rho of a statistic's seed means against ``xs``, with their CIs and the verdict.

    xs: ``(n,)`` values of the varied parameter; values_per_x: ``n`` lists of per-seed values.
    Returns ``slope``, ``slope_ci`` (bootstrap), ``slope_t_ci`` (pooled least squares), ``spearman``,
    ``ci`` (bootstrap of rho), ``verdict``, ``reason``, ``seeds`` (fewest at any x), ``points``, ``means``.
    A verdict needs some value with >= 2 seeds and >= 3 residual degrees of freedom.
    """
    xs = np.asarray(xs, float)
    vals = [np.asarray(v, float) for v in values_per_x]
    nan2 = [float("nan")] * 2
    if len(xs) != len(vals) or len(xs) < 3 or any(len(v) == 0 for v in vals):
        return {"spearman": float("nan"), "ci": nan2, "slope": float("nan"), "slope_ci": nan2, "slope_t_ci": nan2,
                "verdict": "inconclusive", "reason": "fewer than 3 values of the varied parameter with runs",
                "seeds": min((len(v) for v in vals), default=0), "means": [float(v.mean()) for v in vals if len(v)],
                "direction": direction}
    means = np.array([v.mean() for v in vals])
    rng = np.random.default_rng(seed)
    boots = np.array([[_slope(xs, m), _rho(xs, m)] for m in
                      (np.array([rng.choice(v, len(v)).mean() for v in vals]) for _ in range(n_boot))])
    s_lo, s_hi = (float(q) for q in np.nanpercentile(boots[:, 0], [2.5, 97.5]))
    r_lo, r_hi = (float(q) for q in np.nanpercentile(boots[:, 1], [2.5, 97.5]))
    # pooled least squares through every (x, seed) point: the t-interval of the slope
    X = np.concatenate([np.full(len(v), x) for x, v in zip(xs, vals)])
    Y = np.concatenate(vals)
    b, a = np.polyfit(X, Y, 1)
    dof = len(X) - 2
    resid = Y - (a + b * X)
    se = np.sqrt(resid @ resid / dof / ((X - X.mean()) ** 2).sum()) if dof > 0 else float("nan")
    half = float(student_t.ppf(0.975, dof) * se) if dof > 0 else float("nan")
    t_lo, t_hi = float(b - half), float(b + half)
    n_seeds = min(len(v) for v in vals)
    down = direction == "decreasing"
    pred = (s_hi < 0 and t_hi < 0) if down else (s_lo > 0 and t_lo > 0)
    anti = (s_lo > 0 and t_lo > 0) if down else (s_hi < 0 and t_hi < 0)
    if max(len(v) for v in vals) < 2 or dof < 3:
        # no value has a replicate: the residual spread would be lack of fit, not seed noise
        verdict, reason = "inconclusive", "one seed per value: no spread to build a CI from"
    else:
        verdict = "supported" if pred else "not supported" if anti else "inconclusive"
        reason = ("both CIs of the slope exclude 0 on the predicted side" if pred else
                  "both CIs of the slope exclude 0 on the other side" if anti else
                  "a CI of the slope includes 0 (or the two disagree)")
    return {"spearman": _rho(xs, means), "ci": [r_lo, r_hi], "slope": _slope(xs, means), "slope_ci": [s_lo, s_hi],
            "slope_t_ci": [t_lo, t_hi], "verdict": verdict, "reason": reason, "seeds": n_seeds, "points": len(X),
            "means": means.tolist(), "direction": direction}


def trend_table(rows: list[dict], var: str, group: str | None = None, log_x: bool = False) -> dict:
    """Per group (e.g. model): :func:`trend` of every :data:`STATISTICS` entry against ``var`` (``log10`` of
    var if ``log_x``) over the rows that passed the learning gate (``row["learned"]``, true when absent)."""
    out = {}
    groups = sorted({str(r.get(group)) for r in rows}) if group else [None]
    for g in groups:
        sub = [r for r in rows if "error" not in r and r.get("learned", True) and (group is None or str(r.get(group)) == g)]
        if not sub:
            entry = {stat: {**trend([], [], direction=d), "reason": "no run of this group passed the learning gate",
                            "x": []} for stat, d in STATISTICS.items()}
            out[str(g)] = entry
            continue
        xs = sorted({r[var] for r in sub})
        entry = {}
        for stat, direction in STATISTICS.items():
            # a statistic can be undefined for a run (NaN: e.g. no mid-band on a tiny grid): left out
            per = [[r[stat] for r in sub if r[var] == x and np.isfinite(r.get(stat, np.nan))] for x in xs]
            entry[stat] = {**trend(np.log10(xs) if log_x else xs, per, direction=direction), "x": xs,
                           "x_scale": "log10" if log_x else "linear"}
        out[str(g)] = entry
    return out


def learning_gate(test_acc: float, chance: float, train_losses: list[float],
                  floor: float | None = None) -> tuple[bool, str]:
    """:data:`GATE` applied to one run: ``(passed, reason)``; the reason names the failed condition.
    ``floor``: the model family's accuracy floor (None: only the chance multiple)."""
    need = GATE["min_acc_ratio"] * chance
    if not test_acc >= need:
        return False, f"test accuracy {test_acc:.3f} < {GATE['min_acc_ratio']:g} x chance ({need:.3f})"
    if floor is not None and not test_acc >= floor:
        return False, f"test accuracy {test_acc:.3f} < the model family's floor {floor:g}"
    if len(train_losses) < 2:
        return False, "fewer than 2 epochs: cannot tell whether the training loss flattened"
    a, b = train_losses[-2], train_losses[-1]
    change = abs(b - a) / abs(a) if a else float("inf")
    if change > GATE["max_loss_change"]:
        return False, (f"training loss still moving: {a:.3f} -> {b:.3f} over the last epoch "
                       f"({100 * change:.1f}% > {100 * GATE['max_loss_change']:g}%)")
    return True, "passed"


def slope_difference(xs, values_a, values_b, n_boot: int = 2000, seed: int = 0) -> dict:
    """How the slope of a statistic against ``xs`` differs between two groups (a minus b), e.g. natural minus
    whitened data in the depth sweep: the data-versus-architecture control.

    values_a, values_b: ``len(xs)`` lists of per-seed values each. Returns ``difference`` (slope of a's seed
    means minus b's), ``ci`` (percentile bootstrap, seeds resampled in both groups) and ``t_ci`` (the
    interaction coefficient of one least-squares fit ``y = a0 + a1 x + g (c0 + c1 x)`` through every point,
    g = 1 for group a, with its t-interval, df = points - 4)."""
    xs = np.asarray(xs, float)
    A = [np.asarray(v, float) for v in values_a]
    B = [np.asarray(v, float) for v in values_b]
    nan2 = [float("nan")] * 2
    if len(xs) < 3 or any(len(v) == 0 for v in A + B):
        return {"difference": float("nan"), "ci": nan2, "t_ci": nan2}
    rng = np.random.default_rng(seed)
    boots = [_slope(xs, [rng.choice(v, len(v)).mean() for v in A]) - _slope(xs, [rng.choice(v, len(v)).mean() for v in B])
             for _ in range(n_boot)]
    lo, hi = (float(q) for q in np.nanpercentile(boots, [2.5, 97.5]))
    x = np.concatenate([np.full(len(v), xv) for xv, v in zip(xs, A)] + [np.full(len(v), xv) for xv, v in zip(xs, B)])
    g = np.concatenate([np.ones(sum(len(v) for v in A)), np.zeros(sum(len(v) for v in B))])
    y = np.concatenate(A + B)
    D = np.column_stack([np.ones_like(x), x, g, g * x])
    coef, *_ = np.linalg.lstsq(D, y, rcond=None)
    dof = len(y) - 4
    if dof > 0:
        resid = y - D @ coef
        cov = np.linalg.pinv(D.T @ D) * (resid @ resid / dof)
        half = float(student_t.ppf(0.975, dof) * np.sqrt(cov[3, 3]))
        t_ci = [float(coef[3] - half), float(coef[3] + half)]
    else:
        t_ci = nan2
    diff = _slope(xs, [v.mean() for v in A]) - _slope(xs, [v.mean() for v in B])
    return {"difference": diff, "ci": [lo, hi], "t_ci": t_ci}


def architecture_control(natural: dict, control: dict, difference: dict) -> tuple[str, str]:
    """The data-versus-architecture verdict of the depth sweep from the headline trends on natural data and
    on a variant without a spectrum (whitened), and :func:`slope_difference` (natural minus control).

    * "inherited": the natural trend is supported, the control's is not, and both CIs of the difference lie
      below 0 (depth concentrates sensitivity more where the data has a spectrum);
    * "partly inherited": both trends are supported and both CIs of the difference lie below 0;
    * "architectural": the control's trend is supported and the difference is not established (a CI
      includes 0 or lies above it): depth does it on data without a spectrum as on natural data;
    * otherwise "inconclusive", with the reason."""
    nat, ctl = natural.get("verdict"), control.get("verdict")
    below = all(np.isfinite(c[1]) and c[1] < 0 for c in (difference["ci"], difference["t_ci"]))
    if ctl == "supported":
        if nat == "supported" and below:
            return "partly inherited", "the trend holds on whitened data too, but is steeper on natural data"
        return "architectural", "the trend holds on whitened data as on natural data (difference not established)"
    if nat == "supported" and below:
        return "inherited", "natural trend supported, whitened not; the slopes differ (both CIs below 0)"
    return "inconclusive", f"natural: {nat}, whitened: {ctl}, difference CIs {difference['ci']} / {difference['t_ci']}"
