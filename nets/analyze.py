"""python -m nets.analyze: frequency sensitivity, heat maps and tau for any classifier on any images. Forwards to ``nets.cli.analyze``, the entry point."""
if __name__ == "__main__":
    import sys

    from nets.cli.analyze import main
    from infra.cli import entry
    sys.exit(entry(main, "python -m nets.analyze"))
