"""The verdict rows every experiment contributes to the report's first table (and the README's result table):
one :class:`Verdict` per claim, built from the experiment's saved result only."""
from __future__ import annotations

from dataclasses import dataclass

from infra.tables import fmt, markdown_table


@dataclass(frozen=True)
class Verdict:
    """One decided claim: what it says, the verdict, the headline effect with its CIs, the runs behind it,
    the accuracy of those runs, and where its figure is."""
    claim: str
    verdict: str
    effect: str
    cis: str
    runs: str
    accuracy: str = ""
    figure: str = ""


HEADER = ("claim", "verdict", "headline effect", "95% CIs", "runs used / excluded", "test accuracy (used runs)",
          "figure")


def table(verdicts: list[Verdict], figures: bool = True) -> list[str]:
    """Markdown lines, one row per verdict (``figures=False``: without the figure column, for the README)."""
    rows = [(v.claim, f"**{v.verdict}**", v.effect, v.cis, v.runs, v.accuracy, v.figure) for v in verdicts]
    return markdown_table(HEADER if figures else HEADER[:-1], rows if figures else [r[:-1] for r in rows])


def ci(c) -> str:
    return f"[{fmt(c[0])}, {fmt(c[1])}]" if c else ""


def accuracy_range(rows: list[dict]) -> str:
    acc = [r["test_acc"] for r in rows if "error" not in r and r.get("learned", True) and "test_acc" in r]
    return f"{min(acc):.3f}-{max(acc):.3f}" if acc else "none passed"


def trend_verdicts(result: dict, key: str, claim: str, group_key: str, var_label: str, figure: str = "",
                   select=lambda r, g: True) -> list[Verdict]:
    """One row per group of ``result[key]`` (a ``trends.trend_table``): the headline statistic's slope and
    its two CIs, with the released code's moment's verdict named next to it (does the convention matter?).
    ``claim`` and ``figure`` may name ``{group}``."""
    from nets.experiments.trends import HEADLINE
    out = []
    for group, entry in result.get(key, {}).items():
        t = entry[HEADLINE]
        rel = entry.get("moment1_released", {}).get("verdict", "n/a")
        rows = [r for r in result["runs"] if str(r.get(group_key)) == group and select(r, group)]
        used = [r for r in rows if "error" not in r and r.get("learned")]
        unit = "per decade" if t.get("x_scale") == "log10" else "per step"
        rob = entry.get("robust")
        verdict, beside = t["verdict"], ""
        if rob:   # the claim's verdict needs the second checkpoint to agree; the ungated one is shown beside it
            verdict = rob["verdict"]
            beside = (f"; last epoch: {t['verdict']}, epoch before: {rob['previous']['verdict']} "
                      f"(slope {fmt(rob['previous'].get('slope'))}), ungated: {rob['ungated']['verdict']} "
                      f"(slope {fmt(rob['ungated'].get('slope'))})")
            if rob["removed_values"]:
                beside += f"; the gate removed every run at {var_label} {'/'.join(fmt(x) for x in rob['removed_values'])}"
        one = str(t.get("reason", "")).startswith("one seed per value")   # a bootstrap of one seed has no width
        cis = "n/a (one seed per value)" if one else f"bootstrap {ci(t['slope_ci'])}, t {ci(t['slope_t_ci'])}"
        out.append(Verdict(claim.format(group=group), verdict,
                           f"{HEADLINE} {' / '.join(fmt(m) for m in t.get('means', []))} over {var_label} "
                           f"{'/'.join(fmt(x) for x in t.get('x', []))}; slope {fmt(t['slope'])} {unit} "
                           f"(released-code moment: {rel}){beside}",
                           cis, f"{len(used)} / {len(rows) - len(used)}", accuracy_range(used), figure.format(group=group)))
    return out
