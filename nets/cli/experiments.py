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
import json
import sys
import time
from pathlib import Path

from infra.cli import ArgumentParser, add_overwrite, capped, int_at_least, require_output_folder
from infra.io import atomic_write_json
from nets.results import Results


def main(argv=None, prog: str = "freqsens experiments") -> int:
    from nets.data import DataError, dataset_names, load_dataset
    from nets.experiments import SCALES, experiment_names
    from nets.runtime import resolve_device
    from nets.experiments import get_experiment
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
    out = Path(args.out)
    ident = {"dataset": args.dataset, "preset": args.preset, "seeds": args.seeds, "data_root": args.data_root}
    marker = Results(out).file("config")
    if marker.exists():
        try:
            saved = json.loads(marker.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            ap.error(f"--out: {marker} is unreadable ({type(exc).__name__}: {exc}); use another --out")
        if saved != ident:
            ap.error(f"--out: {out} holds results of a different config ({saved}); use another --out")
    from infra.parallel import check_scheduler
    try:
        resolve_device(args.device)
        check_scheduler(args.scheduler)
        shape = load_dataset(args.dataset, data_root=args.data_root).shape   # fail early, with the data error's message
    except (DataError, ValueError, ConnectionError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    from infra.io import FolderLock, LockError
    lock = FolderLock(out, tool="nets.experiments", overwrite=args.overwrite)
    try:
        lock.acquire()      # one writer per results folder, released by the OS if this process dies
    except LockError as exc:
        print(f"{prog}: error: --out: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, out, marker, ident, shape, prog)
    finally:
        lock.release()


def _run(args, out: Path, marker: Path, ident: dict, shape, prog: str) -> int:
    from nets.experiments import Runner
    from nets.experiments.driver import names_for, run_experiment, train_all
    atomic_write_json(marker, ident)
    from nets.experiments.sweep import Context
    ctx = Context(args.dataset, args.preset, args.seeds, out, args.data_root, shape, args.device)
    runner = Runner(args.workers, args.scheduler)
    names = names_for(args.name)
    t0 = time.time()
    failed = 0
    spent = {}
    try:
        spent = train_all(names, ctx, runner)   # every experiment's training runs in one pool, longest first
        for n in names:
            res = run_experiment(n, ctx, runner)
            failed += len(res.get("failed", []))
    except ConnectionError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    timing = Results(out).file("timing")
    if args.name == "all" and failed == 0 and not timing.exists():
        # the first complete run's time; a re-run of finished work keeps it, so the report reproduces
        from infra.io import provenance
        atomic_write_json(timing, {"experiments": names, "seconds": round(time.time() - t0, 1),
                                   "training": spent, **provenance()})
    if not args.no_report:
        from nets.report import build_report
        print(f"report: {build_report(out)}")
    if failed:
        print(f"{prog}: {failed} task(s) failed after a retry; see the report", file=sys.stderr)
        return 1
    return 0
