"""Bounded readers: a file freqsens reads must be a regular file within a size bound, so a FIFO cannot hang a
reader and ``/dev/zero`` cannot fill memory (issue 34). ``infra.io`` re-exports these names."""
from __future__ import annotations

import os
from pathlib import Path


def file_kind(mode: int) -> str:
    """What a ``st_mode`` is, in words (for one-line errors)."""
    import stat
    return "a folder" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) \
        else "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) \
        else "a link" if stat.S_ISLNK(mode) else "not a regular file"


class ReadError(OSError):
    """A file freqsens was asked to read is not a regular file (a FIFO would hang, ``/dev/zero`` never ends) or is
    larger than the reader's bound; the message names the path and what it is."""


def check_readable(path: str | os.PathLike, limit: int) -> Path:
    """Raise :class:`ReadError` unless ``path`` (links followed: a user's data may live behind one) is a regular
    file of at most ``limit`` bytes; checked before any reader opens it."""
    import stat
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(f"{path} is {file_kind(st.st_mode)}, expected a regular file")
    if st.st_size > limit:
        raise ReadError(f"{path} holds {st.st_size:,} bytes, more than the {limit:,} this reader accepts")
    return path


def read_regular(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of ``path`` after :func:`check_readable`, read from a non-blocking descriptor that is checked
    again (so a file swapped for a FIFO between the check and the open cannot hang) and never past ``limit``."""
    import stat
    check_readable(path, limit)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ReadError(f"{path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ReadError(f"{path} grew past the {limit:,} bytes this reader accepts")
    return data
