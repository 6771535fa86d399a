"""The argument parser every CLI uses: a bad argument is one line on stderr (``prog: error: ...``, naming
the argument and what was expected) and exit status 2, never a usage dump or a traceback."""
from __future__ import annotations

import argparse
import math


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}{self._suggestion(message)}\n")

    def _suggestion(self, message: str) -> str:
        """A close match for a misspelt flag (``unrecognized arguments: --sed``) or choice (``invalid choice:
        'cifar' (choose from ...)``), as " (did you mean ...?)"; empty when nothing is close."""
        import difflib
        import re
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if m:
            options = re.findall(r"'([^']*)'|([^\s,]+)", m.group(2))
            options = [a or b for a, b in options]
            near = difflib.get_close_matches(m.group(1), options, 1, 0.6)
            return f" (did you mean '{near[0]}'?)" if near else ""
        m = re.match(r"unrecognized arguments: (.*)", message)
        if m:
            flags = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
            out = []
            for word in m.group(1).split():
                near = difflib.get_close_matches(word.split("=")[0], flags, 1, 0.6) if word.startswith("-") else []
                out += [f"{word} -> {near[0]}"] if near else []
            return f" (did you mean: {', '.join(out)}?)" if out else ""
        return ""


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


SEED_MAX = 2**32 - 1    # numpy's legacy RandomState and every torch generator accept [0, 2**32)


def seed_type(text: str) -> int:
    """An argparse ``type`` for seeds: integers in ``[0, 2**32 - 1]``, the range every generator accepts."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, {SEED_MAX}], got {text!r}") from None
    if not 0 <= v <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, {SEED_MAX}], got {v}")
    return v


def add_overwrite(ap: argparse.ArgumentParser) -> None:
    """The ``--overwrite`` flag every writing CLI shares (``infra.io.check_output_folder``)."""
    ap.add_argument("--overwrite", action="store_true", help="write into an output folder (or file) that holds "
                    "files freqsens did not write; only the files this tool writes are replaced")


def require_output_folder(ap: argparse.ArgumentParser, flag: str, folder, tool: str, overwrite: bool = False,
                          accept: tuple = ()) -> None:
    """``ap.error`` (one line naming ``flag``, exit 2) unless ``tool`` may write ``folder``
    (``infra.io.check_output_folder``): a folder of the user's is refused before any work."""
    from infra.io import LockError, check_output_folder
    try:
        check_output_folder(folder, tool, overwrite, accept)
    except LockError as exc:
        ap.error(f"{flag}: {exc}")


def require_output_file(ap: argparse.ArgumentParser, flag: str, path, overwrite: bool = False) -> None:
    """``ap.error`` (one line naming ``flag``, exit 2) unless ``path`` may receive a JSON result
    (``infra.io.check_output_file``: no devices, FIFOs, folders, or files freqsens did not write)."""
    from infra.io import LockError, check_output_file
    try:
        check_output_file(path, overwrite)
    except LockError as exc:
        ap.error(f"{flag}: {exc}")


def capped(ap_prog: str, flag: str, value: int) -> int:
    """``value`` capped at the machine's CPU count (with one note on stderr): more threads or workers than
    cores only slow every one of them down (and huge counts exhaust memory or the thread limit)."""
    import os
    import sys
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if value > cores:
        print(f"{ap_prog}: note: {flag} {value} capped at {cores}, the CPU cores this process may use",
              file=sys.stderr)
        return cores
    return value


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that ``finally`` blocks release locks and remove temp files. A
    BaseException (like KeyboardInterrupt): no ``except Exception`` (a retry, a step recorded as failed) swallows it."""


def entry(main, prog: str) -> int:
    """Run a CLI's ``main()`` the way ``python -m`` does, with the signal contract every CLI shares:
    SIGINT (Ctrl-C) -> one line and exit 130, SIGTERM -> one line and exit 143 (the shells' 128 + signal);
    the work done so far is kept (every writer is atomic and resumable). Returns the exit status."""
    import signal
    import sys

    def on_term(signum, frame):
        raise Terminated()
    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:      # not the main thread (embedded use): keep the default
        pass
    try:
        return main()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted (SIGINT); finished work is saved, re-run the same command to continue",
              file=sys.stderr)
        return 130
    except Terminated:
        print(f"{prog}: terminated (SIGTERM); finished work is saved, re-run the same command to continue",
              file=sys.stderr)
        return 143
    except BrokenPipeError:   # a reader closed the pipe (| head): nothing more can be printed there
        import os
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        print(f"{prog}: the output pipe was closed before the output ended", file=sys.stderr)
        return 1
    except OSError as exc:    # disk full, read-only, name too long, permission denied: one line, exit 1
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"{prog}: {where}{exc.strerror or exc} (the work finished so far is saved; free the cause and re-run "
              "the same command)", file=sys.stderr)
        return 1
