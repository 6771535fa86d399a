"""Security and reliability: no code runs from a data or checkpoint file, one writer per results folder,
corrupt caches rebuilt, results written with the user's umask."""
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SMALL = "synthetic:grf?n_train=40&n_val=10&n_test=10&H=8&W=8"


class _Boom:
    """Unpickling this calls os.system: what a crafted file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def env(tmp_path):
    return {**os.environ, "FREQSENS_CACHE": str(tmp_path / "cache")}


def test_crafted_cifar_batch_runs_nothing(tmp_path):
    """A data_batch whose pickle reduces to os.system: refused before anything runs, one clear line."""
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    marker = tmp_path / "PWNED"
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (d / name).write_bytes(pickle.dumps({b"data": _Boom(marker), b"labels": [0]}))
    assert not marker.exists()
    p = subprocess.run([sys.executable, "-m", "nets", "stats", "--dataset", "cifar10", "--data-root", str(tmp_path),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120, env=env(tmp_path))
    assert p.returncode == 2 and "corrupt or not a CIFAR batch" in p.stderr and "refused global" in p.stderr
    assert not marker.exists() and not (tmp_path / "o").exists()


def test_real_cifar_layout_still_reads(tmp_path):
    """The restricted unpickler admits what the official release holds (numpy arrays, lists, bytes)."""
    from nets.data import cifar10
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (d / name).write_bytes(pickle.dumps({b"batch_label": b"x", b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8),
                                             b"labels": [1, 2, 3], b"filenames": [b"a", b"b", b"c"]}, protocol=2))
    assert cifar10(tmp_path, val_fraction=0.2).x_test.shape == (3, 3, 32, 32)


@pytest.mark.parametrize("bad, match", [(np.zeros((2, 3072), np.float32), "uint8"),
                                        (np.zeros((2, 3072), np.int64), "uint8")])
def test_cifar_dtypes_are_checked_not_cast(tmp_path, bad, match):
    from nets.data import DataError, cifar10
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (d / name).write_bytes(pickle.dumps({b"data": bad, b"labels": [0, 1]}))
    with pytest.raises(DataError, match=match):
        cifar10(tmp_path)


def train_small(tmp_path, out, *extra, check=True):
    p = subprocess.run([sys.executable, "-m", "nets", "train", "--dataset", SMALL, "--depth", "2", "--width", "2",
                        "--batch-size", "20", "--out", str(out), *extra], capture_output=True, text=True, timeout=300,
                       env=env(tmp_path))
    assert not check or p.returncode == 0, p.stderr
    return p


def test_crafted_checkpoint_runs_nothing(tmp_path):
    """best.pt replaced by a pickle that reduces to os.system: nets.sensitivity refuses it (weights_only=True)."""
    import torch
    run = tmp_path / "run"
    train_small(tmp_path, run, "--max-epochs", "1")
    marker = tmp_path / "PWNED"
    torch.save({"model": _Boom(marker)}, run / "best.pt")
    p = subprocess.run([sys.executable, "-m", "nets", "sensitivity", str(run)], capture_output=True, text=True,
                       timeout=120, env=env(tmp_path))
    assert p.returncode == 2 and "best.pt: not a readable freqsens checkpoint" in p.stderr
    assert not marker.exists() and not (run / "sensitivity.npz").exists()


def test_second_writer_is_refused(tmp_path):
    """While one nets.train writes a folder, a second one gets one line naming the folder and the holder."""
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "nets", "train", "--dataset", SMALL, "--depth", "3", "--width", "8",
                              "--batch-size", "5", "--max-epochs", "400", "--patience", "1000", "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(tmp_path))
    try:
        for _ in range(600):
            if (out / "last.pt").exists():   # the first epoch is written: the folder's file names are final
                break
            time.sleep(0.1)
        names = lambda: sorted(q.name for q in out.iterdir() if not q.name.endswith(".tmp"))  # noqa: E731
        before = names()   # (the first writer's atomic temp files come and go)
        p = train_small(tmp_path, out, "--max-epochs", "400", "--depth", "3", "--width", "8", "--batch-size", "5",
                        "--patience", "1000", "--resume", check=False)
        assert p.returncode == 2 and f"in use by another freqsens process (pid {first.pid}" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
        assert names() == before   # the second writer created nothing
    finally:
        first.kill()
        first.wait()
    # the kernel released the dead holder's lock: resuming works at once
    from infra.io import FolderLock
    with FolderLock(out):
        pass


def test_truncated_cache_is_rebuilt(tmp_path, monkeypatch):
    """A truncated dataset cache file is reported and rebuilt, never used, and the data are unchanged."""
    from nets.data import cache_dir, load_dataset
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path / "cache"))
    a = load_dataset(SMALL)
    (f,) = list(cache_dir().glob("*.npz"))
    f.write_bytes(f.read_bytes()[:100])
    b = load_dataset(SMALL)
    assert np.array_equal(a.x_train, b.x_train) and f.stat().st_size > 100


def test_results_keep_the_umask(tmp_path):
    from infra.io import atomic_write_json
    old = os.umask(0o022)
    try:
        path = atomic_write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o644 and json.loads(path.read_text()) == {"a": 1}


def _weights(path):
    import torch
    return {k: v for k, v in torch.load(path, weights_only=True)["model"].items()}


def _rows(run):
    return [{k: v for k, v in json.loads(ln).items() if k not in ("seconds", "images_per_s")}
            for ln in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("event", ["last:1", pytest.param("metrics:2", marks=pytest.mark.slow),
                                   pytest.param("best:1", marks=pytest.mark.slow),
                                   pytest.param("last:3", marks=pytest.mark.slow)])
def test_kill_after_each_checkpoint_write_then_resume(tmp_path, event):
    """SIGKILL right after a metrics row, a best.pt or a last.pt write, then --resume: the final weights are
    bit-identical to an uninterrupted seeded run and every epoch's metrics row is there exactly once."""
    import torch
    args = ("--max-epochs", "4", "--patience", "100")
    ref, run = tmp_path / "ref", tmp_path / "run"
    train_small(tmp_path, ref, *args)
    p = subprocess.run([sys.executable, "-m", "nets", "train", "--dataset", SMALL, "--depth", "2", "--width", "2",
                        "--batch-size", "20", "--out", str(run), *args], capture_output=True, text=True, timeout=300,
                       env={**env(tmp_path), "FREQSENS_CRASH_AT": event})
    assert p.returncode == -9, p.stderr          # killed at the crash point
    train_small(tmp_path, run, *args, "--resume")
    for name in ("best.pt", "last.pt"):
        a, b = _weights(ref / name), _weights(run / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    assert _rows(run) == _rows(ref) and [r["epoch"] for r in _rows(run)] == [0, 1, 2, 3]
    assert json.loads((run / "result.json").read_text())["test_acc"] == json.loads((ref / "result.json").read_text())["test_acc"]


@pytest.mark.slow
def test_kill_a_sweep_between_tasks_then_resume(tmp_path):
    """A depth sweep SIGKILLed right after its second task's row.json: the re-run finishes with the same rows as
    an uninterrupted sweep, and no task was trained twice (each run's metrics hold each epoch once)."""
    def sweep(out, extra_env=None):
        return subprocess.run([sys.executable, "-m", "nets", "experiments", "depth", "--dataset", SMALL, "--preset", "tiny",
                               "--seeds", "1", "--no-report", "--out", str(out)], capture_output=True, text=True,
                              timeout=600, env={**env(tmp_path), **(extra_env or {})})
    assert sweep(tmp_path / "ref").returncode == 0
    assert sweep(tmp_path / "cut", {"FREQSENS_CRASH_AT": "row:2"}).returncode == -9
    assert len(list((tmp_path / "cut" / "runs").glob("*/row.json"))) == 2
    p = sweep(tmp_path / "cut")
    assert p.returncode == 0, p.stderr
    keep = ("depth", "seed", "test_acc", "val_acc", "moment1", "moment2", "spearman_tau")
    rows = lambda o: [{k: r[k] for k in keep} for r in json.loads((o / "experiments" / "depth.json").read_text())["runs"]]  # noqa: E731
    assert rows(tmp_path / "cut") == rows(tmp_path / "ref")
    for m in (tmp_path / "cut" / "runs").glob("*/metrics.jsonl"):
        epochs = [json.loads(ln)["epoch"] for ln in m.read_text().splitlines()]
        assert epochs == sorted(set(epochs)), m


def test_pool_workers_die_with_their_parent(tmp_path):
    """SIGKILL of a --workers 2 parent takes its pool workers with it (none left to race a re-run)."""
    code = ("import time, sys\nfrom infra.parallel import Executor\n"
            "with Executor(2) as ex:\n    ex.map(time.sleep, [60, 60])\n")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=os.getcwd())
    try:
        kids = []
        for _ in range(100):
            kids = [int(p) for p in subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True,
                                                     text=True).stdout.split()]
            if len(kids) >= 2:
                break
            time.sleep(0.1)
        assert len(kids) >= 2
        time.sleep(0.5)
    finally:
        parent.kill()
        parent.wait()
    time.sleep(1.0)
    alive = [k for k in kids if os.path.exists(f"/proc/{k}") and "Z" not in open(f"/proc/{k}/stat").read().split()[2]]
    assert not alive, alive


def _depth_sweep(tmp_path, out, *extra):
    return subprocess.run([sys.executable, "-m", "nets", "experiments", "depth", "--dataset", SMALL, "--preset", "tiny",
                           "--seeds", "1", "--no-report", "--out", str(out), *extra], capture_output=True, text=True,
                          timeout=600, env=env(tmp_path))


def test_sweep_with_failed_tasks_exits_nonzero(tmp_path):
    """OUT/runs is a file: every task fails (after a retry), the sweep says so and exits 1, not 0. (Without
    --overwrite the folder, holding a file freqsens did not write, is refused before anything runs.)"""
    out = tmp_path / "e"
    out.mkdir()
    (out / "runs").write_text("a file where the task folders should be")
    p = _depth_sweep(tmp_path, out)
    assert p.returncode == 2 and "--overwrite" in p.stderr and sorted(x.name for x in out.iterdir()) == ["runs"]
    p = _depth_sweep(tmp_path, out, "--overwrite")
    from nets.experiments.depth import PRESETS
    n = len(PRESETS["tiny"]["depths"]) * len(PRESETS["tiny"]["variants"])   # one seed
    assert p.returncode == 1 and f"{n} task(s) failed" in p.stderr
    assert len(json.loads((out / "experiments" / "depth.json").read_text())["failed"]) == n


@pytest.mark.slow
def test_corrupt_state_files_are_rebuilt_or_reported(tmp_path):
    """A truncated sensitivity.npz of a finished task is recomputed (same numbers); a truncated tau cache is
    recomputed; an unreadable experiment_config.json is one line, exit 2."""
    out = tmp_path / "e"
    assert _depth_sweep(tmp_path, out).returncode == 0
    before = json.loads((out / "experiments" / "depth.json").read_text())["runs"]
    (out / "experiments" / "depth.json").unlink()
    npz = sorted((out / "runs").glob("*/sensitivity.npz"))[0]
    npz.write_bytes(npz.read_bytes()[:50])
    for t in (out / "tau").glob("*.npy"):
        t.write_bytes(t.read_bytes()[:20])
    p = _depth_sweep(tmp_path, out)
    assert p.returncode == 0, p.stderr
    after = json.loads((out / "experiments" / "depth.json").read_text())["runs"]
    assert [(r["moment1"], r["spearman_tau"]) for r in after] == [(r["moment1"], r["spearman_tau"]) for r in before]
    (out / "experiment_config.json").write_text("{truncated")
    p = _depth_sweep(tmp_path, out)
    assert p.returncode == 2 and "experiment_config.json is unreadable" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def _train(tmp_path, out, *extra, envx=None, **kw):
    return subprocess.run([sys.executable, "-m", "nets", "train", "--dataset", SMALL, "--depth", "2", "--width", "2",
                           "--batch-size", "20", "--out", str(out), *extra], capture_output=True, text=True,
                          timeout=300, env={**env(tmp_path), **(envx or {})}, **kw)


@pytest.mark.slow
def test_kill_between_config_and_first_checkpoint_resumes(tmp_path):
    """SIGKILL right after config.json is written (before any checkpoint): a plain re-run names --resume, and
    --resume finishes the run with the same result as an uninterrupted one; a dead writer's temp file is
    removed on the next start."""
    out = tmp_path / "r"
    p = _train(tmp_path, out, "--max-epochs", "2", envx={"FREQSENS_CRASH_AT": "config:1"})
    assert p.returncode == -9 and (out / "config.json").exists() and not (out / "best.pt").exists()
    (out / ".last.pt.freqsens-abc123xy.tmp").write_bytes(b"half a checkpoint")   # what a kill inside atomic_write leaves
    p = _train(tmp_path, out, "--max-epochs", "2")
    assert p.returncode == 2 and "--resume" in p.stderr
    p = _train(tmp_path, out, "--max-epochs", "2", "--resume")
    assert p.returncode == 0, p.stderr
    assert not list(out.glob(".*.tmp"))
    ref = _train(tmp_path, tmp_path / "ref", "--max-epochs", "2")
    assert ref.returncode == 0
    a, b = (json.loads((d / "result.json").read_text()) for d in (out, tmp_path / "ref"))
    assert (a["test_acc"], a["val_acc"], a["test_loss"]) == (b["test_acc"], b["val_acc"], b["test_loss"])


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_signals_exit_with_shell_codes_and_resume(tmp_path, sig, code):
    """SIGTERM -> exit 143 and SIGINT -> exit 130 with one line (no traceback); --resume then finishes."""
    import signal
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "nets", "train", "--dataset", "synthetic:grf?n_train=2000&n_val=10&n_test=10&H=16&W=16",
                             "--depth", "3", "--width", "8", "--batch-size", "20", "--max-epochs", "50", "--out", str(out)],
                            stderr=subprocess.PIPE, text=True, env=env(tmp_path),
                            # a suite started in the background inherits SIGINT ignored (POSIX shells do that to
                            # background jobs) and Python then keeps ignoring it: give the child the default back
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("[train]")]
    assert proc.returncode == code and "Traceback" not in err and len(lines) == 1 and sig in lines[0], err[-2000:]
    p = subprocess.run([sys.executable, "-m", "nets", "train", "--dataset", "synthetic:grf?n_train=2000&n_val=10&n_test=10&H=16&W=16",
                        "--depth", "3", "--width", "8", "--batch-size", "20", "--max-epochs", "2", "--resume",
                        "--out", str(out)], capture_output=True, text=True, timeout=300, env=env(tmp_path))
    assert p.returncode == 2 and "different config" in p.stderr   # max_epochs is part of the run's identity
    p = subprocess.run([sys.executable, "-m", "nets", "train", "--dataset", "synthetic:grf?n_train=2000&n_val=10&n_test=10&H=16&W=16",
                        "--depth", "3", "--width", "8", "--batch-size", "20", "--max-epochs", "50", "--resume",
                        "--out", str(out)], capture_output=True, text=True, timeout=600, env=env(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]


def test_an_unrelated_folder_is_left_byte_identical_by_every_cli(tmp_path):
    """A folder of the user's files given as the output of every writing CLI: refused (exit 2, one line naming
    --overwrite), every file byte-identical and no file added."""
    import hashlib
    d = tmp_path / "mine"
    for name, text in {"report.md": "notes", "stats.json": "{}", "config.json": "{}", "search.json": "{}",
                       "analysis.json": "[]", "sub/keep.txt": "x"}.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)

    def digest():
        return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*"))
                if p.is_file()}
    before = digest()
    (tmp_path / "m.py").write_text("import torch\ndef f():\n    return torch.nn.Sequential(torch.nn.Flatten(), "
                                   "torch.nn.Linear(3 * 8 * 8, 2))\n")
    from PIL import Image
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8, 3), 50 * i + 100 * (c == "b"), np.uint8)).save(tmp_path / "imgs" / c / f"{i}.png")
    calls = [["nets", "train", "--dataset", SMALL, "--out", str(d)],
             ["nets", "experiments", "depth", "--dataset", SMALL, "--preset", "tiny", "--out", str(d)],
             ["nets", "stats", "--dataset", SMALL, "--out", str(d)],
             ["nets", "analyze", "--model", "m:f", "--dataset", f"folder:{tmp_path / 'imgs'}", "--size", "8", "--out", str(d)],
             ["theory", "conjecture", "--samples", "8", "--out", str(d)],
             ["benchmarks", "gpu-check", "--dry", "--out", str(d)]]
    for argv in calls:
        p = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                           env={**env(tmp_path), "PYTHONPATH": f"{tmp_path}:{os.getcwd()}"})
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert p.returncode == 2 and len(lines) == 1 and "--overwrite" in lines[0], (argv[1], p.stderr[-1000:])
        assert digest() == before, argv[1]
        assert sorted(x.name for x in d.iterdir()) == sorted(["report.md", "stats.json", "config.json", "search.json",
                                                              "analysis.json", "sub"]), argv[1]


def test_sensitivity_and_report_take_the_folder_lock(tmp_path):
    """While a folder is locked (a training or a sweep writing it), nets.sensitivity and nets.report are
    refused with one line naming the holder, and write nothing."""
    from infra.io import FolderLock
    run = tmp_path / "run"
    assert _train(tmp_path, run, "--max-epochs", "1").returncode == 0
    res = tmp_path / "res"
    res.mkdir()
    (res / "experiment_config.json").write_text('{"dataset": "embedded"}')
    (res / ".freqsens.json").write_text('{"tool": "nets.experiments"}')
    for argv, folder in ((["nets", "sensitivity", str(run)], run), (["nets", "report", str(res)], res)):
        with FolderLock(folder, tool="nets.train" if folder == run else "nets.experiments"):
            before = sorted(p.name for p in folder.iterdir())
            p = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, timeout=120,
                               env=env(tmp_path))
            assert p.returncode == 2 and "in use by another freqsens process" in p.stderr, (argv, p.stderr)
            assert len(p.stderr.strip().splitlines()) == 1 and sorted(q.name for q in folder.iterdir()) == before


def test_symlinked_output_is_followed_and_thread_counts_are_capped(tmp_path):
    """--json LINK writes the link's target (the link stays a link); --threads beyond the cores is capped with
    one note and the run goes on."""
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    os.symlink(target, link)
    p = subprocess.run([sys.executable, "-m", "theory", "check", "--only", "dft-dense", "--instances", "1", "--json",
                        str(link)], capture_output=True, text=True, timeout=300, env=env(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]
    assert link.is_symlink() and json.loads(target.read_text())["results"]
    p = _train(tmp_path, tmp_path / "t", "--max-epochs", "1", "--threads", "100000")
    assert p.returncode == 0 and f"--threads 100000 capped at {len(os.sched_getaffinity(0))}" in p.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sweep_sigterm_is_not_retried(tmp_path, workers):
    """SIGTERM during a sweep's training: exit 143 with the signal's line, never a retried task and exit 0
    (Terminated is a BaseException, so the task's retry does not catch it; the pool does not wait for running
    tasks)."""
    import signal
    out = tmp_path / "e"
    p = subprocess.Popen([sys.executable, "-m", "nets", "experiments", "depth", "--dataset", SMALL.replace("H=8&W=8", "H=16&W=16"),
                          "--preset", "tiny", "--seeds", "2", "--workers", workers, "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp_path))
    t0 = time.time()
    while not list((out / "runs").glob("*/metrics.jsonl")) and time.time() - t0 < 120 and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143, err[-2000:]
    assert "terminated (SIGTERM)" in err.strip().splitlines()[-1] and "Traceback" not in err


def _children(pid: int) -> list[int]:
    from pathlib import Path
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.slow
def test_sweep_sigterm_stops_running_workers(tmp_path):
    """SIGTERM while 2 workers train runs of tens of seconds: the sweep exits within seconds and its workers
    are gone (a pool left to the interpreter's exit waits for every running task)."""
    import signal
    out = tmp_path / "e"
    p = subprocess.Popen([sys.executable, "-m", "nets", "experiments", "depth", "--dataset",
                          "synthetic:grf?n_train=3000&n_val=100&n_test=100&H=16&W=16", "--preset", "quick", "--seeds",
                          "1", "--workers", "2", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp_path))
    t0 = time.time()
    while len(list((out / "runs").glob("*/metrics.jsonl"))) < 2 and time.time() - t0 < 300 and p.poll() is None:
        time.sleep(0.1)
    workers = _children(p.pid)
    assert len(workers) >= 2, workers
    t1 = time.time()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143 and time.time() - t1 < 10, (time.time() - t1, err[-2000:])
    time.sleep(1)
    def alive(pid):   # a zombie (state Z) has finished; only its exit status is left for init to collect
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    assert not [w for w in workers if alive(w)], "workers outlived the sweep"


def test_results_folder_travels(tmp_path):
    """Rows store run paths relative to the results folder: a results folder copied elsewhere (the original
    deleted) reports the same from another working directory, figures and limitations included."""
    import shutil
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    a = tmp_path / "a"
    p = subprocess.run([sys.executable, "-m", "nets", "experiments", "depth", "--dataset", SMALL.replace("H=8&W=8", "H=16&W=16"),
                        "--preset", "tiny", "--seeds", "1", "--out", "a"], capture_output=True, text=True, timeout=600,
                       env=env(tmp_path), cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    saved = json.loads((a / "experiments" / "depth.json").read_text())
    assert all(r["run"].startswith("runs/") for r in saved["runs"])
    before = (a / "report.md").read_text()
    b = tmp_path / "elsewhere" / "b"
    shutil.copytree(a, b)
    shutil.rmtree(a)
    (b / "report.md").unlink()
    other = tmp_path / "cwd"
    other.mkdir()
    p = subprocess.run([sys.executable, "-m", "nets", "report", str(b)], capture_output=True, text=True, timeout=300,
                       env={**env(tmp_path), "PYTHONPATH": str(repo)}, cwd=other)
    assert p.returncode == 0, p.stderr[-2000:]
    after = (b / "report.md").read_text()
    strip = lambda t: [l for l in t.splitlines() if not l.startswith("# freqsens report")]  # noqa: E731
    assert strip(after) == strip(before)
    assert "figure failed" not in after and "## Limitations and training settings" in after
