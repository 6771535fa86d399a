"""The one front door: every freqsens command in one table, reached as

    freqsens COMMAND [ARGS]                  (the console script, ``[project.scripts]``)
    python -m nets | theory | benchmarks COMMAND [ARGS]    (the same commands of that package)

Each command's module sits in its package's ``cli/`` folder and exposes ``main(argv, prog) -> int``: it turns
argv into a typed config, calls one library function and maps its errors to exit codes (``infra.cli``). The
table holds module *names* (as ``[project.scripts]`` does), so infra imports no package of the repo.
"""
from __future__ import annotations

import sys

#: command -> (module with ``main(argv, prog)``, one line for the command list)
COMMANDS = {
    "experiments": ("nets.cli.experiments", "the paper's experiments as cached, resumable sweeps, then the report"),
    "report": ("nets.cli.report", "rebuild a results folder's report.md (and figures) from saved results"),
    "train": ("nets.cli.train", "train one model into a run folder (resumable)"),
    "sensitivity": ("nets.cli.sensitivity", "measure a finished run's frequency sensitivity (and heat map)"),
    "analyze": ("nets.cli.analyze", "analyse your own model (MODULE:FACTORY) on your own images"),
    "stats": ("nets.cli.stats", "a dataset's Fourier statistics (tau, eq. 4.6)"),
    "check": ("theory.cli.check", "check the paper's lemmas and theorems numerically"),
    "conjecture": ("theory.cli.conjecture", "search for counterexamples to the Schatten bound (resumable)"),
    "bench": ("benchmarks.cli.bench", "speed against the obvious and the published way (ratios)"),
    "throughput": ("benchmarks.cli.throughput", "training images per second of each model"),
    "gpu-check": ("benchmarks.cli.gpu_check", "the CUDA paths: FFT layer, models, sensitivity, a short sweep"),
}


def usage(package: str | None = None, prog: str = "freqsens") -> str:
    names = [n for n, (mod, _) in COMMANDS.items() if package is None or mod.startswith(package + ".")]
    width = max(map(len, names))
    return "\n".join([f"usage: {prog} COMMAND [ARGS]   ({prog} COMMAND --help for its arguments)", "", "commands:"]
                     + [f"  {n:<{width}}  {COMMANDS[n][1]}" for n in names])


def main(argv: list[str] | None = None, package: str | None = None, prog: str = "freqsens") -> int:
    """Dispatch ``argv[0]`` to its command's ``main`` under the shared signal and error contract
    (``infra.cli.entry``); ``package`` limits the table to one package's commands (``python -m nets``)."""
    import difflib
    import importlib

    from infra.cli import entry
    argv = sys.argv[1:] if argv is None else list(argv)
    names = [n for n, (mod, _) in COMMANDS.items() if package is None or mod.startswith(package + ".")]
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage(package, prog))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in names:
        near = difflib.get_close_matches(name, names + ["analyse"], 1, 0.6)
        near = ["analyze"] if near == ["analyse"] else near
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        print(f"{prog}: unknown command {name!r}{hint}; expected one of: {', '.join(names)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return entry(lambda: module.main(rest, prog=f"{prog} {name}"), f"{prog} {name}")


def console() -> None:
    """The ``freqsens`` console script."""
    sys.exit(main())
