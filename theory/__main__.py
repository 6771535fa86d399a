"""python -m theory COMMAND [ARGS]: theory's commands of the one front door (``freqsens COMMAND``; the table is
:data:`infra.commands.COMMANDS`)."""
import sys

from infra.commands import main

sys.exit(main(package="theory", prog="freqsens"))
