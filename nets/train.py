"""python -m nets.train: train one model (appendix C.5) into a run folder; resumable. Forwards to ``nets.cli.train``, the entry point."""
if __name__ == "__main__":
    import sys

    from nets.cli.train import main
    from infra.cli import entry
    sys.exit(entry(main, "python -m nets.train"))
