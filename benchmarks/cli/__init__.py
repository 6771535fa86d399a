"""benchmarks' commands (``freqsens bench``, ``throughput``, ``gpu-check``; table: :data:`infra.commands.COMMANDS`)."""
