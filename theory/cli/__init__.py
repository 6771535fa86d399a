"""theory's commands (``freqsens check``, ``freqsens conjecture``; table: :data:`infra.commands.COMMANDS`):
each turns argv into a config, calls one library function of theory and maps its errors to exit codes."""
