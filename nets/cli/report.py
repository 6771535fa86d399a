"""freqsens report RESULTS_DIR: rebuild ``RESULTS_DIR/report.md`` (and its figures) from saved results only.

    freqsens report RESULTS_DIR              -> RESULTS_DIR/report.md
    freqsens report RESULTS_DIR --summary    -> the report's verdict table on stdout (the README's tables)
    freqsens report RESULTS_DIR --answer     -> one sentence per claim on stdout (the README's first screen)
    freqsens report RESULTS_DIR --csv        -> every run's numbers as CSV on stdout (one row per run)
"""
from __future__ import annotations

import argparse
import sys

from infra.cli import ArgumentParser, require_output_folder
from nets.report import answer_lines, build_report, runs_csv, verdict_table
from nets.results import Results


def main(argv=None, prog: str = "freqsens report") -> int:
    ap = ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", metavar="RESULTS_DIR", help="a folder written by freqsens experiments")
    ap.add_argument("--summary", action="store_true", help="print the verdict table (Markdown) instead of writing "
                    "report.md")
    ap.add_argument("--answer", action="store_true", help="print one sentence per claim (Markdown list) instead of "
                    "writing report.md")
    ap.add_argument("--csv", action="store_true", help="print every run of every experiment as CSV (one row per run: "
                    "its settings, accuracies, learning gate and map statistics) instead of writing report.md")
    args = ap.parse_args(argv)
    if not Results(args.results).is_results():
        ap.error(f"RESULTS_DIR: expected one folder written by freqsens experiments, got {args.results!r}")
    if not (args.summary or args.answer or args.csv):   # it writes report.md and figures/ there: freqsens's folders only
        require_output_folder(ap, "RESULTS_DIR", args.results, "nets.experiments")
    from infra.io import LockError
    from nets.report import ReportError, check_results
    try:
        check_results(args.results)   # corrupt results are named before the folder is touched
        if args.csv:
            sys.stdout.write(runs_csv(args.results))
            return 0
        if args.summary or args.answer:
            print("\n".join(answer_lines(args.results) if args.answer else verdict_table(args.results, figures=False)))
            return 0
        print(build_report(args.results))   # under the folder's lock: a running sweep holds it
    except (ReportError, LockError, OSError) as exc:
        ap.error(str(exc))
    return 0
