"""The argument parser every CLI uses: a bad argument is one line on stderr (``prog: error: ...``, naming
the argument and what was expected) and exit status 2, never a usage dump or a traceback."""
from __future__ import annotations

import argparse
import math


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def int_at_least(minimum: int):
    """An argparse ``type`` for integers >= ``minimum`` (its message names the bound)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {v}")
        return v
    return parse


def finite_float(minimum: float | None = None, strict: bool = False):
    """An argparse ``type`` for finite floats (``> minimum`` if strict, else ``>= minimum``)."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        if not math.isfinite(v) or (minimum is not None and (v <= minimum if strict else v < minimum)):
            raise argparse.ArgumentTypeError(f"expected a finite number{bound}, got {text!r}")
        return v
    return parse


def run_or_exit(prog: str, fn, errors: tuple):
    """``(fn(), 0)``, or ``(None, 2)`` after one line ``prog: error: ...`` on stderr when ``fn`` raises one of
    ``errors`` (the expected failures: bad data, a foreign run folder, ...): what every CLI's last step does."""
    import sys
    try:
        return fn(), 0
    except errors as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return None, 2


def require_writable_folder(ap: argparse.ArgumentParser, flag: str, folder) -> None:
    """``ap.error`` (one line naming ``flag``, exit 2) unless ``folder`` is or could become a writable folder:
    checked before any work, so that a bad output path costs a second, not the computation."""
    from infra.io import LockError, check_writable_folder
    try:
        check_writable_folder(folder)
    except LockError as exc:
        ap.error(f"{flag}: {exc}")
