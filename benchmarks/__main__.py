"""python -m benchmarks COMMAND [ARGS]: the benchmarks' commands of the one front door (``freqsens bench``,
``freqsens throughput``, ``freqsens gpu-check``; the table is :data:`infra.commands.COMMANDS`)."""
import sys

from infra.commands import main

sys.exit(main(package="benchmarks", prog="freqsens"))
