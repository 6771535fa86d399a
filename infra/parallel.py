"""One way to run independent jobs: in-process, on local processes, or on a Dask cluster.

Used by the conjecture search (chunks) and the experiment sweeps (training runs). Jobs must be
module-level functions with picklable arguments; results come back in order.
"""
from __future__ import annotations

import os
import signal
import sys


def _worker_init(parent: int):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the parent's SIGTERM handler (infra.cli.entry: raise Terminated) is inherited by a forked worker, where the
    # pool would catch it as one task's failure and run the next: a worker simply dies on SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel SIGKILLs this worker when its parent dies (even by SIGKILL), so a killed sweep leaves
    no worker behind to race a re-run (prctl PR_SET_PDEATHSIG). Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)     # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:        # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def check_scheduler(scheduler: str | None, timeout: float = 5.0) -> None:
    """Raise ConnectionError (one line naming ``--scheduler``) unless ``scheduler`` is None, ``"local"`` with
    Dask installed, or a ``[tcp://]host:port`` that accepts a TCP connection: checked before any output is
    written, so a typo in the address costs seconds and leaves nothing behind."""
    if not scheduler:
        return
    import importlib.util
    if importlib.util.find_spec("distributed") is None:
        raise ConnectionError(f"--scheduler {scheduler}: needs Dask, which is an optional extra: "
                              "pip install 'freqsens[dask]'")
    if scheduler == "local":
        return
    import socket
    from urllib.parse import urlsplit
    parts = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        raise ConnectionError(f"--scheduler: expected 'local' or tcp://HOST:PORT, got {scheduler!r}")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise ConnectionError(f"--scheduler {scheduler}: cannot connect ({exc.strerror or exc})") from None
    # a port that accepts TCP but never speaks Dask (the wrong service, a hung scheduler): the handshake itself,
    # with the same time limit, before anything is created
    # (distributed's own timeout did not fire against a silent port: a daemon thread with a hard deadline)
    import threading
    outcome: list = []

    def handshake():
        try:
            from distributed import Client
            Client(scheduler, timeout=timeout).close()
            outcome.append(None)
        except Exception as exc:  # noqa: BLE001 - every handshake failure is reported the same way
            outcome.append(exc)
    t = threading.Thread(target=handshake, daemon=True)
    t.start()
    t.join(timeout + 5)
    if not outcome or outcome[0] is not None:
        why = "no answer" if not outcome else type(outcome[0]).__name__
        raise ConnectionError(f"--scheduler {scheduler}: no Dask scheduler answered within {timeout + 5:g} s ({why})")


class Executor:
    """``Executor(workers, scheduler)``: ``map(fn, *iterables)`` in order; ``size`` = useful wave width.

    scheduler=None and workers=1: in-process; workers > 1: a local process pool; scheduler="local": a Dask
    ``LocalCluster`` with ``workers`` single-threaded processes; scheduler="tcp://...": that Dask cluster
    (e.g. one started by dask-jobqueue on Slurm). An unreachable scheduler raises ConnectionError.
    """

    def __init__(self, workers: int = 1, scheduler: str | None = None):
        self.pool = self.client = None
        self.size = 1
        if scheduler:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise ConnectionError(f"--scheduler {scheduler}: needs Dask, which is an optional extra: "
                                      "pip install 'freqsens[dask]'") from None
            try:
                self.client = Client(LocalCluster(n_workers=max(workers, 2), threads_per_worker=1, processes=True)
                                     if scheduler == "local" else scheduler, timeout=10)
            except Exception as exc:  # noqa: BLE001 - every connection failure is reported the same way
                raise ConnectionError(f"--scheduler {scheduler}: cannot connect ({type(exc).__name__}: {exc})") from None
            self.size = max(workers, len(self.client.scheduler_info().get("workers", {})), 1)
        elif workers > 1:
            from concurrent.futures import ProcessPoolExecutor
            self.pool = ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(os.getpid(),))
            self.size = workers

    def map(self, fn, *iterables, progress=None) -> list:
        """``[fn(*args) for args in zip(*iterables)]``, all submitted at once; ``progress(done, index)`` is
        called as each job finishes (in completion order; ``index``: that job's position in the input); results
        come back in the input order."""
        if self.client is not None:
            from distributed import as_completed
            futures = self.client.map(fn, *iterables, pure=False)
        elif self.pool is not None:
            from concurrent.futures import as_completed
            futures = [self.pool.submit(fn, *args) for args in zip(*iterables)]
        else:
            out = []
            for args in zip(*iterables):
                out.append(fn(*args))
                if progress:
                    progress(len(out), len(out) - 1)
            return out
        index = {f: i for i, f in enumerate(futures)}
        for done, f in enumerate(as_completed(futures), 1):
            if progress:
                progress(done, index[f])
        return self.client.gather(futures) if self.client is not None else [f.result() for f in futures]

    def close(self, wait: bool = True) -> None:
        """Shut the pool down; ``wait=False`` (leaving on an exception or a signal) stops the running jobs'
        workers at once instead of waiting for them (their finished work is saved; a re-run resumes)."""
        if self.pool is not None:
            if not wait:   # interpreter exit joins the pool's manager thread, which waits for running jobs:
                self._stop_workers()   # stop them now, or a signalled sweep lingers until they finish
            self.pool.shutdown(wait=wait, cancel_futures=True)
        if self.client is not None:
            self.client.close()

    def _stop_workers(self) -> None:
        """SIGTERM every worker process of the local pool (Python 3.14's ``terminate_workers``; before it, the
        pool's process table, which is private to concurrent.futures but stable since 3.2)."""
        stop = getattr(self.pool, "terminate_workers", None)
        if stop is not None:
            stop()
            return
        for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
            try:
                proc.terminate()
            except (OSError, ValueError):   # already gone
                pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(wait=exc_type is None)
