"""Memory estimates checked before allocating: a size that would exhaust the machine is one line saying what
it would need and what the machine has, not a ``DefaultCPUAllocator`` traceback or a swap storm."""
from __future__ import annotations

import os


class ResourceError(ValueError):
    """A requested size needs more memory than this machine has (the message names the argument)."""


def total_memory() -> int:
    """Physical memory of this machine in bytes (``FREQSENS_MEMORY_BYTES`` overrides it, for tests)."""
    override = os.environ.get("FREQSENS_MEMORY_BYTES")
    if override:
        return int(override)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 40      # unknown: do not refuse


def gib(n: float) -> str:
    """``n`` bytes as a short human string (``"18.0 GiB"``, ``"1.4 PiB"``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} EiB"


def require_memory(nbytes: float, what: str, share: float = 0.8) -> None:
    """Raise :class:`ResourceError` when ``nbytes`` exceeds ``share`` of this machine's memory; ``what``
    names the argument(s) that set the size (``"--width 100000"``)."""
    have = total_memory()
    if nbytes > share * have:
        raise ResourceError(f"{what}: would need about {gib(nbytes)} of memory; this machine has {gib(have)}")
