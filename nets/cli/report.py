"""freqsens report RESULTS_DIR: rebuild ``RESULTS_DIR/report.md`` (and its figures) from saved results only.

    freqsens report RESULTS_DIR              -> RESULTS_DIR/report.md
    freqsens report RESULTS_DIR --summary    -> the report's verdict table on stdout (the README's tables)
    freqsens report RESULTS_DIR --answer     -> one sentence per claim on stdout (the README's first screen)
"""
from __future__ import annotations

import argparse

from infra.cli import ArgumentParser
from nets.report import answer_lines, build_report, verdict_table
from nets.results import Results


def main(argv=None, prog: str = "freqsens report") -> int:
    ap = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", metavar="RESULTS_DIR", help="a folder written by freqsens experiments")
    ap.add_argument("--summary", action="store_true", help="print the verdict table (Markdown) instead of writing "
                    "report.md")
    ap.add_argument("--answer", action="store_true", help="print one sentence per claim (Markdown list) instead of "
                    "writing report.md")
    args = ap.parse_args(argv)
    if not Results(args.results).is_results():
        ap.error(f"RESULTS_DIR: expected one folder written by freqsens experiments, got {args.results!r}")
    from infra.io import FolderLock, LockError
    from nets.report import ReportError, check_results
    try:
        check_results(args.results)   # corrupt results are named before the folder is touched
        if args.summary or args.answer:
            print("\n".join(answer_lines(args.results) if args.answer else verdict_table(args.results, figures=False)))
            return 0
        # the report writes into the results folder: one writer at a time (a running sweep holds it)
        with FolderLock(args.results, tool="nets.experiments"):
            print(build_report(args.results))
    except (ReportError, LockError, OSError) as exc:
        ap.error(str(exc))
    return 0
