"""Planted links in an output folder are never followed (issue 34): every link kind (lock, marker, result
file) is planted pointing at a file of the "user's", and that file's bytes are checked by hash afterwards.
Also: only freqsens's own temp names are cleaned up, and the folder check is repeated under the lock."""
import hashlib
import json
import os
import subprocess
import sys

import pytest

from infra.io import LOCK, MARKER, FolderLock, OutputError, atomic_write_json, remove_stale_temporaries, written_by

SMALL = "synthetic:grf?n_train=40&n_val=10&n_test=10&H=8&W=8"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def env(tmp_path):
    return {**os.environ, "FREQSENS_CACHE": str(tmp_path / "cache"), "FREQSENS_THREADS": "1"}


@pytest.fixture
def precious(tmp_path):
    f = tmp_path / "important.txt"
    f.write_text("the user's own words\n")
    return f, sha(f)


def _stats(tmp_path, out, *extra):
    return subprocess.run([sys.executable, "-m", "nets", "stats", "--dataset", SMALL, "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=180, env=env(tmp_path))


def test_planted_lock_link_is_refused_and_target_untouched(tmp_path, precious):
    """The reported attack: a folder holding only ``.freqsens.lock -> important.txt``. Without --overwrite the
    folder is not 'empty' (exit 2); with it, the lock's O_NOFOLLOW open refuses it (exit 2). Either way one line,
    and the target's bytes are unchanged."""
    target, digest = precious
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(target, out / LOCK)
    for extra in ((), ("--overwrite",)):
        p = _stats(tmp_path, out, *extra)
        assert p.returncode == 2, (extra, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert sha(target) == digest
        assert sorted(q.name for q in out.iterdir()) == [LOCK] and (out / LOCK).is_symlink()


def test_lock_dangling_link_and_fifo_refused(tmp_path, precious):
    """A dangling link under the lock's name is not created through; a FIFO there neither hangs nor is used."""
    target, _ = precious
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(tmp_path / "would-be-created.txt", out / LOCK)
    with pytest.raises(OutputError, match="is a link"):
        FolderLock(out, tool="t", overwrite=True).acquire()
    assert not (tmp_path / "would-be-created.txt").exists()
    (out / LOCK).unlink()
    os.mkfifo(out / LOCK)
    with pytest.raises(OutputError, match="FIFO"):
        FolderLock(out, tool="t", overwrite=True).acquire()


def test_planted_marker_and_result_links_are_replaced_not_followed(tmp_path, precious):
    """A folder freqsens owns (its lock is a real file) with ``.freqsens.json`` and ``stats.json`` planted as
    links to the user's file: the run replaces the links with its own files; the target is untouched."""
    target, digest = precious
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text("")
    os.symlink(target, out / MARKER)
    os.symlink(target, out / "stats.json")
    assert written_by(out) == "freqsens"        # the link marker is not read through
    p = _stats(tmp_path, out)
    assert p.returncode == 0, p.stderr[-2000:]
    assert sha(target) == digest
    assert not (out / MARKER).is_symlink() and json.loads((out / MARKER).read_text())["tool"] == "nets.stats"
    assert not (out / "stats.json").is_symlink() and "results" in json.loads((out / "stats.json").read_text())


def test_result_link_with_overwrite_is_replaced(tmp_path, precious):
    """The second reported case: a user's folder, --overwrite, ``stats.json -> important.txt``."""
    target, digest = precious
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    os.symlink(target, out / "stats.json")
    p = _stats(tmp_path, out, "--overwrite")
    assert p.returncode == 0, p.stderr[-2000:]
    assert sha(target) == digest and (out / "notes.txt").read_text() == "mine"
    assert not (out / "stats.json").is_symlink()


def test_atomic_write_inside_folder_never_follows(tmp_path, precious):
    target, digest = precious
    link = tmp_path / "r.json"
    os.symlink(target, link)
    atomic_write_json(link, {"a": 1})
    assert sha(target) == digest and json.loads(link.read_text()) == {"a": 1} and not link.is_symlink()
    os.symlink(target, tmp_path / "explicit.json")      # a path the user named: followed, as documented
    atomic_write_json(tmp_path / "explicit.json", {"b": 2}, follow=True)
    assert (tmp_path / "explicit.json").is_symlink() and json.loads(target.read_text()) == {"b": 2}


def test_cleanup_removes_only_own_temporaries(tmp_path):
    """A user's ``.draft.tmp`` (and ``.x.abcdefgh.tmp``, the old pattern) survive; a killed writer's temp goes;
    a link under a temp name is not followed."""
    (tmp_path / ".draft.tmp").write_text("mine")
    (tmp_path / ".x.abcdefgh.tmp").write_text("mine too")
    (tmp_path / ".stats.json.freqsens-ab12_xyz.tmp").write_text("half a file")
    keep = tmp_path / "keep.txt"
    keep.write_text("k")
    os.symlink(keep, tmp_path / ".a.json.freqsens-zzzzzzzz.tmp")
    assert remove_stale_temporaries(tmp_path) == [".stats.json.freqsens-ab12_xyz.tmp"]
    assert (tmp_path / ".draft.tmp").read_text() == "mine" and (tmp_path / ".x.abcdefgh.tmp").exists()
    assert keep.read_text() == "k"


def test_overwrite_keeps_users_tmp_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".draft.tmp").write_text("mine")
    p = _stats(tmp_path, out, "--overwrite")
    assert p.returncode == 0, p.stderr[-2000:]
    assert (out / ".draft.tmp").read_text() == "mine"


def test_folder_check_repeated_under_the_lock(tmp_path):
    """Check-then-lock race, made deterministic: a folder that passes the check, then gains a user's file
    before the lock is taken, is refused by the check repeated under the lock; nothing is written."""
    out = tmp_path / "out"
    lock = FolderLock(out, tool="t")
    from infra import io
    real = io.check_output_folder
    calls = []

    def racing(folder, *a, **k):
        calls.append(1)
        r = real(folder, *a, **k)
        if len(calls) == 1:            # between the first check and the lock, someone else writes here
            out.mkdir()
            (out / "theirs.txt").write_text("x")
        return r
    io.check_output_folder = racing
    try:
        with pytest.raises(OutputError, match="did not write"):
            lock.acquire()
    finally:
        io.check_output_folder = real
    assert len(calls) == 2 and MARKER not in [p.name for p in out.iterdir()]


def test_train_race_second_config_refused(tmp_path):
    """Two trains into one new folder: the second, with another config, re-checks under the lock and is refused
    instead of replacing the finished run (simulated by finishing one run between check and lock)."""
    from nets import training
    from nets.runs import TrainConfig, TrainError
    from nets.training import load_data, train
    out = tmp_path / "run"
    base = dict(dataset=SMALL, model="convactually", depth=1, width=2, max_epochs=1, batch_size=20,
                out=str(out), threads=1, seed=0)
    real = training._check_folder
    calls = []

    def racing(run, cfg, resume, overwrite=False):
        calls.append(1)
        r = real(run, cfg, resume, overwrite)
        if len(calls) == 1:          # the other writer runs to completion right here
            cfg = TrainConfig(**{**base, "seed": 1})
            train(cfg, load_data(cfg), progress=False)
        return r
    training._check_folder = racing
    try:
        with pytest.raises(TrainError, match="different config"):
            train(TrainConfig(**base), load_data(TrainConfig(**base)), progress=False)
    finally:
        training._check_folder = real
    assert json.loads((out / "config.json").read_text())["config"]["seed"] == 1


def test_append_never_follows_a_link(tmp_path, precious):
    """The metrics rows are appended with O_NOFOLLOW: a planted metrics.jsonl link is refused, its target kept."""
    from infra.io import append_text
    target, digest = precious
    os.symlink(target, tmp_path / "metrics.jsonl")
    with pytest.raises(OutputError, match="is a link"):
        append_text(tmp_path / "metrics.jsonl", "row\n")
    assert sha(target) == digest
    append_text(tmp_path / "m2.jsonl", "a\n")
    append_text(tmp_path / "m2.jsonl", "b\n")
    assert (tmp_path / "m2.jsonl").read_text() == "a\nb\n"
    os.mkfifo(tmp_path / "f.jsonl")
    with pytest.raises(OutputError, match="FIFO"):
        append_text(tmp_path / "f.jsonl", "x\n")


def test_run_records_never_follow_links_or_hang(tmp_path, precious):
    """A run folder's metrics are appended, reset and truncated by replacing or refusing a planted link (the
    target keeps its bytes), and a FIFO planted as a record is refused at once instead of hanging a read."""
    from nets.runs import Run
    target, digest = precious
    run = Run(tmp_path)
    os.symlink(target, run.file("metrics"))
    with pytest.raises(OutputError, match="is a link"):
        run.append_metrics({"epoch": 1})
    run.reset_metrics()                      # replaces the link by an empty file
    assert not run.file("metrics").is_symlink() and sha(target) == digest
    run.append_metrics({"epoch": 1})
    run.append_metrics({"epoch": 2})
    run.truncate_metrics(1)
    assert run.metrics() == [{"epoch": 1}] and sha(target) == digest
    os.mkfifo(run.file("result"))
    with pytest.raises(OSError, match="FIFO"):
        run.result()
