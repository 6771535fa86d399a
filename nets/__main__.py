"""python -m nets COMMAND [ARGS]: nets's commands of the one front door (``freqsens COMMAND``; the table is
:data:`infra.commands.COMMANDS`)."""
import sys

from infra.commands import main

sys.exit(main(package="nets", prog="freqsens"))
