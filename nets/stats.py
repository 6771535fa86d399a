"""python -m nets.stats: Fourier statistics of a dataset (paper Fig. 1a, 1b, 1c) with power-law fits. Forwards to ``nets.cli.stats``, the entry point."""
if __name__ == "__main__":
    import sys

    from nets.cli.stats import main
    from infra.cli import entry
    sys.exit(entry(main, "python -m nets.stats"))
