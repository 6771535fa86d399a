"""python -m nets.experiments NAME: the paper's experiments as named, cached, resumable sweeps. Forwards to ``nets.cli.experiments``, the entry point."""
if __name__ == "__main__":
    import sys

    from nets.cli.experiments import main
    sys.exit(main())
