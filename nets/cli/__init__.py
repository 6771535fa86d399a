"""nets' commands, as thin modules over the library, reached through the one front door
(:mod:`infra.commands`: ``freqsens COMMAND`` or ``python -m nets COMMAND``): argument parsing (``infra.cli``:
one line and exit 2 for a bad argument), then one library call.

* ``train`` (``nets.training``), ``sensitivity`` (``nets.measuring.measure_run``), ``stats`` (``nets.experiments.stats``),
  ``analyze`` (``nets.analysis``), ``experiments`` (``nets.experiments``), ``report`` (``nets.report``).

The same flag means the same thing everywhere: ``--dataset``, ``--data-root``, ``--model``, ``--out``,
``--preset``, ``--seed`` / ``--seeds``, ``--device``.
"""
