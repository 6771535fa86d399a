"""Hypothesis I (Section 5.1, Figs. 2-3): ConvActually's sensitivity concentrates where tau is large, more
so with depth; the radial moments (eq. 5.1) should decrease with depth.

Run on the dataset as given ("natural") and on its per-image standardised variant (``standardise`` filter:
no DC term, unit contrast), whose labels mean colour cannot decide: if the trend survives there, the
paper's mechanism, not colour, is at work. freqsens's depth counts every layer including the linear
read-out (depth 1 = a linear classifier); the paper's "depth d" ConvActually has d conv layers, i.e.
freqsens depth d + 1 (its depth 1 reached ~57 % on CIFAR-10, more than a linear classifier).

The data-versus-architecture control: the same sweep on whitened data (``whiten``: every frequency of the
training images gets the same variance, so tau has no slope to inherit). If depth concentrates sensitivity
at low frequencies there too, the depth effect is architectural, not inherited from the data; the verdict
(``trends.architecture_control``) compares the headline slopes on natural and whitened data."""
from __future__ import annotations

from nets.experiments.registry import Experiment
from nets.experiments.sections import trend_section
from nets.experiments.sweep import analyse_runs, make_task, run_with_baselines, with_baselines
from nets.experiments.trends import (HEADLINE, STATISTICS, architecture_control, slope_difference, trend,
                                     trend_table)

VARIANTS = {"natural": None, "standardised": "standardise", "whitened": "whiten"}
PRESETS = {"tiny": dict(depths=[1, 2, 3], variants=["natural", "whitened"]),
           "quick": dict(depths=[1, 2, 3, 4, 5], variants=["natural", "standardised", "whitened"]),
           "standard": dict(depths=[1, 2, 3, 4, 5, 6], variants=["natural", "standardised"]),
           "cifar": dict(depths=[1, 2, 3, 4, 5], variants=["natural", "whitened"]),
           "cifar-quick": dict(depths=[1, 2, 3, 4, 5], variants=["natural", "whitened"]),
           "paper": dict(depths=list(range(1, 10)), variants=["natural", "standardised", "whitened"])}


def tasks(ctx, p):
    return [make_task(ctx, {"experiment": "depth", "model": "convactually", "data": v, "depth": d}, "convactually", s,
                      depth=d, weight_decay=ctx.scale["base_decay"], filter=VARIANTS[v])
            for v in p["variants"] for d in p["depths"] for s in range(ctx.seeds)]


def run(ctx, p, pool) -> dict:
    rows, base = run_with_baselines(pool, "depth", tasks(ctx, p))
    ok, res = analyse_runs(rows, base)
    res["hypothesis_I"] = trend_table(ok, "depth", "data")
    if "whitened" in p["variants"] and "natural" in p["variants"]:
        res["architecture_control"] = control(ok, res["hypothesis_I"])
    return res


def control(rows: list[dict], table: dict, stat: str = HEADLINE) -> dict:
    """The data-versus-architecture control: the headline slope on natural minus whitened data (both CIs) and
    the verdict of :func:`trends.architecture_control`, over the depths both variants have gated runs at."""
    learned = [r for r in rows if r.get("learned", True) and "error" not in r]
    xs = sorted({r["depth"] for r in learned if r["data"] == "natural"} & {r["depth"] for r in learned if r["data"] == "whitened"})
    per = {v: [[r[stat] for r in learned if r["data"] == v and r["depth"] == x] for x in xs] for v in ("natural", "whitened")}
    diff = slope_difference(xs, per["natural"], per["whitened"])
    # both slopes over the same depths (the ones both variants have gated runs at), never natural over 1-5
    # beside whitened over 2-4
    nat, ctl = (trend(xs, per[v], direction=STATISTICS[stat]) if xs else {} for v in ("natural", "whitened"))
    verdict, reason = architecture_control(nat, ctl, diff)
    return {"statistic": stat, "depths": xs, "natural_slope": nat.get("slope"), "whitened_slope": ctl.get("slope"),
            **diff, "verdict": verdict, "reason": reason}


def section(out, result) -> list[str]:
    from infra.tables import fmt
    from nets.experiments.trends import EQUIVALENCE_MARGIN
    lines = trend_section(out, result, "depth", "depth", "hypothesis_I", "Hypothesis I: depth (ConvActually; Figs. 2-3)",
                          group="data")
    c = result.get("architecture_control")
    if c:
        lines += ["### Data versus architecture (whitened control)", "",
                  f"The same depth sweep on whitened data (tau flat: no spectrum to inherit). Slope of {c['statistic']} "
                  f"per layer over depths {c['depths']}: natural {fmt(c['natural_slope'])}, whitened "
                  f"{fmt(c['whitened_slope'])}; natural minus whitened {fmt(c['difference'])}, bootstrap 95% CI "
                  f"[{fmt(c['ci'][0])}, {fmt(c['ci'][1])}], t 95% CI [{fmt(c['t_ci'][0])}, {fmt(c['t_ci'][1])}]. "
                  f"**Depth effect: {c['verdict']}** ({c['reason']}). Rule: inherited = natural trend supported, "
                  f"whitened slope flat within +-{EQUIVALENCE_MARGIN:g} (both CIs), difference below 0 (both CIs); "
                  "partly inherited = both supported, difference below 0; "
                  "architectural = whitened trend supported and the difference not established; else "
                  "inconclusive.", ""]
    return lines


def summary_rows(result) -> list:
    from infra.tables import fmt
    from nets.experiments.summary import Verdict, ci, trend_verdicts
    out = trend_verdicts(result, "hypothesis_I", "Hypothesis I: sensitivity moves to low frequencies as depth grows "
                         "(ConvActually, {group} data)", "data", "depth",
                         "figures/depth_convactually_{group}.png")
    c = result.get("architecture_control")
    if c:
        out.append(Verdict("Depth effect inherited from the data, not the architecture (natural vs whitened slope)",
                           c["verdict"], f"slope natural {fmt(c['natural_slope'])} vs whitened "
                           f"{fmt(c['whitened_slope'])} per layer; difference {fmt(c['difference'])}",
                           f"bootstrap {ci(c['ci'])}, t {ci(c['t_ci'])}", f"depths {c['depths']}", "",
                           "figures/depth_convactually_whitened.png"))
    return out


EXPERIMENT = Experiment("depth", "Hypothesis I: depth", PRESETS, run, section, verdicts=summary_rows,
                        training=lambda ctx, p: with_baselines(tasks(ctx, p)))
