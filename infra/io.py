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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write, mode: str = "wb") -> Path:
    """Write ``path`` atomically: ``write(f)`` fills a temp file in the same folder, then it is renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda f: f.write(text), "w")


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


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    """``atomic_write_text`` of ``json.dumps(obj, indent=2)``."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


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
    Use as a context manager; the folder is created if needed (nothing else is written).
    """

    def __init__(self, folder: str | os.PathLike, what: str = ""):
        self.folder, self.what, self.fd = Path(folder), what, None

    def acquire(self) -> "FolderLock":
        import fcntl
        check_writable_folder(self.folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / ".freqsens.lock", os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        except OSError as exc:
            raise LockError(f"{self.folder}: cannot write there ({exc.strerror or exc})") from None
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
