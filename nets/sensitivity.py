"""python -m nets.sensitivity RUN_DIR: the frequency-sensitivity map of a trained run. Forwards to ``nets.cli.sensitivity``, the entry point."""
if __name__ == "__main__":
    import sys

    from nets.cli.sensitivity import main
    from infra.cli import entry
    sys.exit(entry(main, "python -m nets.sensitivity"))
