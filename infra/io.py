"""Atomic writes, config keys and run provenance shared by every CLI (theory, nets, benchmarks).

Every result file goes through :func:`atomic_write`: a temp file in the same folder, fsync, rename, so a
reader never sees half a file and a crash leaves no partial result (the temp file is removed). Files get
the permissions the user's umask allows (``mkstemp`` alone would leave them 0600).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

# the bounded readers live in infra.reading; re-exported here, where every other file rule is
from infra.reading import ReadError, check_readable, read_regular  # noqa: F401
from infra.reading import file_kind as _kind


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def regular_target(path: str | os.PathLike, follow: bool = True) -> Path:
    """The path a write of ``path`` replaces, after checking that it is missing or a regular file: a rename
    over a device, a FIFO or a folder would replace it (``/dev/full`` as root), so those raise
    :class:`OutputError` naming the path and what it is.

    ``follow=True`` (a file the user named, such as ``--json``): a link is followed and its target written.
    ``follow=False`` (a file inside an output folder): a link is never followed; the write replaces the link
    itself, so a planted ``report.md -> ~/important.txt`` leaves ``important.txt`` untouched."""
    import stat
    path = Path(path)
    if follow and path.is_symlink():
        try:
            path = Path(os.path.realpath(path, strict=False))
        except OSError as exc:      # a symlink loop
            raise OutputError(f"{path}: cannot follow the link ({exc.strerror or exc})") from None
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise OutputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode) and not (not follow and stat.S_ISLNK(mode)):
        raise OutputError(f"{path} is {_kind(mode)}, expected a regular file (or a new path) to write")
    return path


TMP_TAG = ".freqsens-"    # every temp file is ".NAME.freqsens-XXXXXXXX.tmp": cleanup removes those names only


def atomic_write(path: str | os.PathLike, write, mode: str = "wb", follow: bool = False) -> Path:
    """Write ``path`` atomically: ``write(f)`` fills a temp file in the same folder, then it is renamed over
    the directory entry. Only regular files (or, with ``follow=False``, a link itself) are replaced
    (:func:`regular_target`); ``follow=True`` only for a path the user named explicitly."""
    path = regular_target(path, follow)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp opens with O_CREAT | O_EXCL: a link planted under the temp name is never followed
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TMP_TAG}", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append ``text`` to the regular file ``path`` inside an output folder (created if missing), never through
    a link (``O_NOFOLLOW``) and never into a FIFO or device: a planted ``metrics.jsonl -> ~/x`` is refused."""
    import errno
    import stat
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     0o666 & ~_umask())
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{path} is a link; freqsens never writes through a link in its output folder") from None
        if exc.errno == errno.ENXIO:   # a FIFO without a reader (O_NONBLOCK): never waited for
            raise OutputError(f"{path} is a FIFO, expected a regular file to append to") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OutputError(f"{path} is {_kind(mode)}, expected a regular file to append to")
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str, follow: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda f: f.write(text), "w", follow)


def atomic_save_npz(path: str | os.PathLike, **arrays) -> Path:
    """``np.savez`` of ``arrays`` to ``path`` atomically (no pickled objects: load with allow_pickle=False)."""
    import numpy as np
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def atomic_save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt
    try:
        return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight"))
    finally:
        plt.close(fig)


def config_key(config, length: int = 16) -> str:
    """A short, stable hash of a JSON-able config (sorted keys): names cache files and task folders."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:length]


def atomic_write_json(path: str | os.PathLike, obj, follow: bool = False) -> Path:
    """``atomic_write_text`` of ``json.dumps(obj, indent=2)``; ``follow`` only for a path the user named."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", follow)


def git_revision() -> str | None:
    """The git commit of the freqsens checkout (``+dirty`` when modified), or None outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance() -> dict:
    """Versions, machine and git revision, saved next to every result."""
    versions = {}
    for pkg in ("numpy", "scipy", "cvxpy", "torch", "matplotlib", "freqsens"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "versions": versions,
        "git_revision": git_revision(),
    }


class LockError(RuntimeError):
    """Another process holds the folder lock (the message names the folder and that process), or the folder
    cannot be created or written."""


class OutputError(LockError):
    """An output path freqsens must not write: a folder holding files freqsens did not write, a root-like
    path, a device or FIFO. The message names the path and what to do instead."""


MARKER = ".freqsens.json"       # {"tool": ...}: "this folder was written by freqsens"
LOCK = ".freqsens.lock"


def _root_like(folder: Path) -> bool:
    """The filesystem root, the home folder and the system folders: never an output folder, even with
    ``--overwrite``."""
    try:
        r = folder.resolve()
    except (OSError, RuntimeError):
        return False
    home = Path.home().resolve() if "HOME" in os.environ else None
    # the system folders and everything below them (--overwrite /etc/ssh must not pass); /tmp, /home, /root
    # themselves only (a user's results live below them), and /var/tmp's subfolders too
    deep = [Path(p) for p in ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run",
                              "/sbin", "/sys", "/usr", "/var")]
    top = {Path(p) for p in ("/tmp", "/home", "/root", "/var/tmp")}
    below_system = any(r == d or d in r.parents for d in deep) and not (Path("/var/tmp") in r.parents)
    return r == Path(r.anchor) or r == home or r in top or below_system


def _regular(path: Path) -> bool:
    """``path`` is a regular file itself (not a link to one): the only kind of marker or lock freqsens trusts."""
    import stat
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def written_by(folder: str | os.PathLike, trust_lock: bool = True) -> str | None:
    """The tool named in ``folder``'s marker; ``"freqsens"`` for a folder with only a lock file (written by
    an earlier freqsens); None when freqsens did not write it. A marker or lock that is a link (or any other
    non-regular file) is not freqsens's: it is never read through."""
    folder = Path(folder)
    if _regular(folder / MARKER):
        try:
            with open(folder / MARKER, "rb", opener=_nofollow_reader) as f:
                d = json.loads(f.read(1 << 16))
            if isinstance(d, dict) and isinstance(d.get("tool"), str):
                return d["tool"]
        except (OSError, ValueError):
            pass
    return "freqsens" if trust_lock and _regular(folder / LOCK) else None


def _nofollow_reader(path, flags):
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)


def check_output_folder(folder: str | os.PathLike, tool: str, overwrite: bool = False,
                        accept: tuple = (), trust_lock: bool = True) -> Path:
    """Raise :class:`OutputError` (one line naming the path) unless ``folder`` may be written by ``tool``:
    missing, empty, or written by ``tool`` (or one of ``accept``, or an earlier freqsens); a folder holding
    anything else only with ``overwrite`` (then only the files ``tool`` writes are replaced). Empty and
    root-like paths are always refused. Reads only: called before any side effect."""
    if str(folder).strip() == "":
        raise OutputError("expected a folder path, got an empty string")
    folder = Path(folder)
    if _root_like(folder):
        raise OutputError(f"{folder} is a system or home folder; give a folder of its own (e.g. results/run1)")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file, expected a folder")
    check_writable_folder(folder)
    if not folder.is_dir():
        return folder
    try:
        # a lock that is a link (or a FIFO...) is not ours: it makes the folder non-empty
        names = [p.name for p in folder.iterdir() if not (p.name == LOCK and _regular(p))]
    except OSError as exc:
        raise OutputError(f"{folder}: cannot be listed ({exc.strerror or exc})") from None
    if not names or overwrite:
        return folder
    owner = written_by(folder, trust_lock)
    if owner in (tool, "freqsens", *accept):
        return folder
    shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
    what = f"was written by {owner}" if owner else f"holds files freqsens did not write ({shown})"
    raise OutputError(f"{folder} {what}; nothing was changed: use a new or empty folder, or pass --overwrite to "
                      f"let {tool} replace its own files there")


def check_output_file(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Raise :class:`OutputError` unless ``path`` may receive a JSON result: new, or a regular file that is
    empty or a JSON object freqsens wrote (it has a ``"provenance"`` entry); any other file only with
    ``overwrite``. Devices, FIFOs and folders are always refused (:func:`regular_target`). Reads only."""
    if str(path).strip() == "":
        raise OutputError("expected a file path, got an empty string")
    target = regular_target(path)
    check_writable_folder(target.parent)
    if overwrite or not target.exists():
        return target
    try:
        with open(target, "rb") as f:
            head = f.read(1 << 20)
        d = json.loads(head.decode()) if head else {}
        # ours: an object with freqsens's provenance entry (versions), not any JSON that mentions the word
        ours = head == b"" or (isinstance(d, dict) and isinstance(d.get("provenance"), dict)
                               and "versions" in d["provenance"])
    except (OSError, ValueError, TypeError):
        ours = False
    if not ours:
        raise OutputError(f"{path} exists and was not written by freqsens; nothing was changed: choose a new path, "
                          "or pass --overwrite to replace it")
    return target


def remove_stale_temporaries(folder: str | os.PathLike) -> list[str]:
    """Delete the temp files that a killed :func:`atomic_write` left in ``folder`` (``.NAME.freqsens-XXXXXXXX.tmp``,
    regular files only; a user's ``.draft.tmp`` is not one): called with the folder lock held, so no live
    writer owns them. Returns the names removed."""
    import re
    own = re.compile(r"^\..+" + re.escape(TMP_TAG) + r"[A-Za-z0-9_]{8}\.tmp$")
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        if own.match(p.name) and _regular(p):
            try:
                p.unlink()
                removed.append(p.name)
            except OSError:
                pass
    return removed


def check_writable_folder(folder: str | os.PathLike) -> Path:
    """Raise :class:`LockError` (naming the path) unless ``folder`` is a folder or could be created as one:
    checked before any work, so a bad output path fails in a second, not after the computation."""
    folder = Path(folder)
    p = folder
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise LockError(f"{folder}: {p} is a file, expected a folder")
    if not os.access(p, os.W_OK):
        raise LockError(f"{folder}: {p} is not writable")
    return folder


class FolderLock:
    """An exclusive OS lock (``fcntl.flock``) on ``FOLDER/.freqsens.lock``: one writer per results folder.

    The kernel releases it when the holder dies (even on SIGKILL), so a killed run never leaves a stale lock.
    A second writer gets :class:`LockError` naming the folder and the holder's pid and command line.
    With ``tool``, the folder must first pass :func:`check_output_folder` (so a folder of the user's is
    refused before anything is written), then gets the marker ``.freqsens.json`` naming ``tool``, and the
    temp files of a killed writer are removed. Use as a context manager; the folder is created if needed.
    """

    def __init__(self, folder: str | os.PathLike, tool: str | None = None, overwrite: bool = False,
                 accept: tuple = ()):
        self.folder, self.tool, self.overwrite, self.accept, self.fd = Path(folder), tool, overwrite, accept, None

    def acquire(self) -> "FolderLock":
        import fcntl
        if self.tool:
            check_output_folder(self.folder, self.tool, self.overwrite, self.accept)
        check_writable_folder(self.folder)
        import errno
        import stat
        lock = self.folder / LOCK
        existed = _regular(lock)   # a lock this call creates is no evidence that freqsens wrote the folder
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: a planted ".freqsens.lock -> ~/important.txt" is refused (ELOOP), never truncated;
            # O_NONBLOCK: a FIFO planted there cannot hang the open
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         0o666 & ~_umask())
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputError(f"{lock} is a link; freqsens never writes through a link in its output "
                                  "folder: remove it or use another folder") from None
            raise LockError(f"{self.folder}: cannot write there ({exc.strerror or exc})") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise OutputError(f"{lock} is {_kind(mode)}, expected freqsens's lock file: remove it or use "
                              "another folder")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            raise LockError(f"{self.folder} is in use by another freqsens process ({holder}); wait for it to "
                            "finish or use another output folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}: {' '.join(sys.argv)[:300]}".encode())
        self.fd = fd
        if self.tool:
            try:   # checked again under the lock: a writer that finished between our check and our lock wins
                check_output_folder(self.folder, self.tool, self.overwrite, self.accept, trust_lock=existed)
            except LockError:
                self.release()
                raise
            try:
                if written_by(self.folder) in (None, "freqsens"):
                    atomic_write_json(self.folder / MARKER, {"tool": self.tool})
                remove_stale_temporaries(self.folder)
            except OSError as exc:
                self.release()
                raise LockError(f"{self.folder}: cannot write there ({exc.strerror or exc})") from None
        return self

    def release(self) -> None:
        if self.fd is not None:
            import fcntl
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


_CRASH_COUNTS: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Fault injection for the kill-and-resume tests: with ``FREQSENS_CRASH_AT=name:n`` in the environment, the
    process SIGKILLs itself on the n-th time it passes ``name`` (right after a write). A no-op otherwise."""
    spec = os.environ.get("FREQSENS_CRASH_AT")
    if not spec:
        return
    target, _, n = spec.partition(":")
    if target != name:
        return
    _CRASH_COUNTS[name] = _CRASH_COUNTS.get(name, 0) + 1
    if _CRASH_COUNTS[name] == int(n or 1):
        import signal
        os.kill(os.getpid(), signal.SIGKILL)
