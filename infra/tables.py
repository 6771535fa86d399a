"""Text tables: one Markdown and one plain-text formatter, and one number format, for every report and CLI."""
from __future__ import annotations

import math
from collections.abc import Sequence


def fmt(x, digits: int = 3) -> str:
    """A number with ``digits`` significant digits; ``n/a`` for None, NaN or inf; strings pass through."""
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}g}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    """Markdown table lines: a header, the ``|---|`` rule, one line per row (cells through :func:`fmt`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return lines


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text table with left-aligned columns and a dashed rule under the header."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(x[i]) for x in [list(header), *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])
