"""python -m nets.experiments NAME: the paper's experiments as named, cached, resumable sweeps. Forwards to ``nets.cli.experiments``, the entry point."""
if __name__ == "__main__":
    import sys

    from nets.cli.experiments import main
    from infra.cli import entry
    sys.exit(entry(main, "python -m nets.experiments"))
