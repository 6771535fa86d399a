"""freqsens experiments NAME: the paper's experiments (and beyond) as named, cached, resumable sweeps.

    freqsens experiments all --dataset embedded --preset quick --seeds 3 --out results/quick

Experiments: see ``nets.experiments`` (``all`` runs every registered one, then writes the report). Each
(model, hyperparameters, seed) is a task: a training run plus its sensitivity map, in
``OUT/runs/<model>-<config hash>``; finished tasks are skipped on re-run without loading anything, a
failed task is retried once and then reported (never dropped; the command then exits 1), and a killed
sweep resumes. Tasks run in-process, on ``--workers N`` local processes, or on a Dask cluster
(``--scheduler tcp://...`` or ``local``; needs the ``dask`` extra: ``pip install 'freqsens[dask]'``).
"""
from __future__ import annotations

import argparse
import sys

from infra.cli import ArgumentParser, add_overwrite, capped, int_at_least, require_output_folder


def main(argv=None, prog: str = "freqsens experiments") -> int:
    from nets.data import dataset_names
    from nets.experiments import SCALES, experiment_names, get_experiment
    claims = "\n".join(f"  {n:<10s} {get_experiment(n).title}" for n in experiment_names())
    ap = ArgumentParser(prog=prog, description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog=f"experiments (NAME) and the claim each decides:\n{claims}\n  {'all':<10s} every one above")
    ap.add_argument("name", choices=[*experiment_names(), "all"], help="experiment to run (listed below)")
    ap.add_argument("--dataset", default="embedded", help=f"one of {', '.join(dataset_names())} (default embedded)")
    ap.add_argument("--data-root", help="folder with cifar-10-batches-py (for --dataset cifar10)")
    ap.add_argument("--preset", default="quick", choices=list(SCALES), help="tiny (tests), quick (the main job: <= 20 min on 2 CPU cores), standard (~2 h on 2 cores), cifar (the "
                    "paper's claims on CIFAR-10: <= 2 h on 2 cores), cifar-quick (hypothesis I and its whitened control "
                    "on CIFAR-10: <= 25 min), cifar-myrtle (MyrtleCNN's hypothesis II, all 45,000 images), cifar-resnet "
                    "(ResNets over depth and decay, with the skip and BatchNorm controls) or paper (GPU)")
    ap.add_argument("--seeds", type=int_at_least(1), help="seeds per configuration (default: the preset's, 3 for cifar "
                    "and cifar-quick, else 2)")
    ap.add_argument("--out", help="results folder (default results/PRESET, e.g. results/cifar)")
    ap.add_argument("--workers", type=int_at_least(1), help="local worker processes, one torch thread each (default: "
                    "the preset's, 2 for cifar and cifar-quick, else 1)")
    ap.add_argument("--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster (needs the dask extra: "
                    "pip install 'freqsens[dask]')")
    ap.add_argument("--device", default="auto", help="where the runs train: auto (CUDA if available), cpu, cuda")
    ap.add_argument("--no-report", action="store_true", help="do not build the report at the end")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    args.out = args.out if args.out is not None else f"results/{args.preset}"
    args.seeds = args.seeds or SCALES[args.preset].get("seeds", 2)
    args.workers = args.workers or SCALES[args.preset].get("workers", 1)
    if not args.scheduler:
        args.workers = capped(ap.prog, "--workers", args.workers)
    require_output_folder(ap, "--out", args.out, "nets.experiments", args.overwrite)
    from infra.io import LockError
    from nets.data import DataError
    from nets.experiments.driver import SweepConfig, sweep
    cfg = SweepConfig(**{k: v for k, v in vars(args).items() if k != "no_report"})
    try:
        outcome = sweep(cfg)
    except LockError as exc:                                   # the folder rule or another writer
        print(f"{prog}: error: --out: {exc}", file=sys.stderr)
        return 2
    except (DataError, ValueError, ConnectionError) as exc:   # SweepError is a ValueError naming --out
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if not args.no_report:
        from nets.report import build_report
        print(f"report: {build_report(args.out)}")
    if outcome["failed"]:
        print(f"{prog}: {outcome['failed']} task(s) failed after a retry; see the report", file=sys.stderr)
        return 1
    return 0
