"""Readers that must not hang, run away or run a decoder freqsens did not choose (issue 34): FIFOs and
/dev/zero as data, checkpoints and weights; an EPS file named .png with a stand-in Ghostscript on PATH; a
label of 2**70; empty splits refused before training."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from infra.io import ReadError, check_readable, read_regular


def _cifar(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (d / name).write_bytes(pickle.dumps({b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                                             b"labels": [0, 1, 2, 3]}, protocol=2))
    return d


@pytest.mark.parametrize("kind, match", [("fifo", "FIFO"), ("zero", "device")])
def test_cifar_batch_fifo_or_dev_zero_refused(tmp_path, kind, match):
    from nets.data import DataError
    from nets.data.cifar10 import read_batch
    d = _cifar(tmp_path)
    (d / "data_batch_3").unlink()
    if kind == "fifo":
        os.mkfifo(d / "data_batch_3")
    else:
        os.symlink("/dev/zero", d / "data_batch_3")
    with pytest.raises(DataError, match=match):
        read_batch(d / "data_batch_3")        # returns at once: a FIFO is never opened


def test_read_regular_bounds(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x" * 100)
    assert read_regular(f, 100) == b"x" * 100
    with pytest.raises(ReadError, match="more than the 99"):
        read_regular(f, 99)
    os.mkfifo(tmp_path / "p")
    with pytest.raises(ReadError, match="FIFO"):
        check_readable(tmp_path / "p", 10)


def test_huge_label_is_a_data_error(tmp_path):
    from nets.data import DataError
    from nets.data.cifar10 import read_batch
    d = _cifar(tmp_path)
    (d / "data_batch_1").write_bytes(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [2 ** 70]}))
    with pytest.raises(DataError, match="labels must be integers"):
        read_batch(d / "data_batch_1")


def test_checkpoint_fifo_refused(tmp_path):
    from nets.runs import TrainError, load_checkpoint
    os.mkfifo(tmp_path / "last.pt")
    with pytest.raises(TrainError, match="FIFO"):
        load_checkpoint(tmp_path / "last.pt")


def test_eps_named_png_never_reaches_ghostscript(tmp_path):
    """Pillow would pick its EPS plugin from the content and call gs; with the decoders restricted to the
    documented formats the file is a data error and the stand-in gs never runs."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "gs-called"
    (bindir / "gs").write_text(f"#!/bin/sh\necho called >> {log}\nexit 1\n")
    (bindir / "gs").chmod(0o755)
    root = tmp_path / "imgs"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        from PIL import Image
        Image.new("RGB", (8, 8), (10, 20, 30)).save(root / c / "ok.png")
    (root / "a" / "x.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    code = ("import sys\nfrom nets.data import load_dataset, DataError\n"
            f"try:\n    load_dataset('folder:{root}?size=8', use_cache=False)\n"
            "except DataError as e:\n    print('DATAERROR', e)\n")
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "FREQSENS_CACHE": str(tmp_path / "c")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert "DATAERROR" in p.stdout and "x.png" in p.stdout, (p.stdout, p.stderr[-2000:])
    assert not log.exists()


def test_empty_split_refused_before_training(tmp_path):
    from nets.runs import TrainConfig, TrainError
    from nets.training import load_data, train
    out = tmp_path / "run"
    cfg = TrainConfig(dataset="synthetic:grf?n_train=40&n_val=10&n_test=10&H=8&W=8", model="convactually", depth=1,
                      width=2, max_epochs=1, batch_size=20, n_test=0, out=str(out), threads=1)
    with pytest.raises(TrainError, match="test 0 image"):
        train(cfg, load_data(cfg), progress=False)
    assert not out.exists()


@pytest.mark.parametrize("exc, want", [
    (OSError(28, "No space left on device", "/r/stats.json"), "/r/stats.json: No space left on device"),
    (OSError(30, "Read-only file system", "/ro/x"), "/ro/x: Read-only file system"),
    (OSError(36, "File name too long", "/r/" + "x" * 300), "File name too long"),
    (PermissionError(13, "Permission denied", "/r/a"), "/r/a: Permission denied"),
])
def test_os_errors_are_one_line_exit_1(capsys, exc, want):
    """The entry point's OS-error rule: one line naming the path and the cause, exit 1, no traceback."""
    from infra.cli import entry

    def main():
        raise exc
    assert entry(main, "prog") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("prog: ") and want in err[0]


def test_closed_pipe_is_one_line(tmp_path):
    """A reader closing the pipe (| head -c 1): exit 1 with one line, no BrokenPipeError traceback."""
    code = ("import sys\nfrom infra.cli import entry\n"
            "def main():\n    for i in range(200000):\n        print('x' * 100)\n    return 0\n"
            "sys.exit(entry(main, 'prog'))\n")
    p = subprocess.run(f"{sys.executable} -c \"{code}\" | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}",
                       shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60,
                       cwd=str(__import__('pathlib').Path(__file__).resolve().parents[1]))
    assert p.stdout.strip() == "1", (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and "output pipe was closed" in p.stderr


@pytest.mark.parametrize("folder", ["/etc/ssh", "/usr/bin", "/var/log", "/etc"])
def test_system_subfolders_refused_even_with_overwrite(folder):
    from infra.io import OutputError, check_output_folder
    with pytest.raises(OutputError, match="system or home folder"):
        check_output_folder(folder, "t", overwrite=True)


@pytest.mark.parametrize("module, extra", [("check", []), ("conjecture", ["--out", "X"])])
def test_huge_seeds_refused(tmp_path, module, extra):
    extra = [str(tmp_path / "o") if e == "X" else e for e in extra]
    p = subprocess.run([sys.executable, "-m", "theory", module, "--seed", str(2 ** 80), *extra], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2 and "--seed" in p.stderr and len(p.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "o").exists()


def test_silent_scheduler_port_refused_before_anything_is_created(tmp_path):
    """A port that accepts TCP but never speaks Dask: refused within the handshake's deadline, exit 2, one line,
    and the output folder is never created (it hung past 120 s after creating the folder)."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(srv.accept()) for _ in range(8)], daemon=True).start()
    out = tmp_path / "o"
    p = subprocess.run([sys.executable, "-m", "nets", "experiments", "depth", "--preset", "tiny", "--scheduler",
                        f"tcp://127.0.0.1:{srv.getsockname()[1]}", "--out", str(out)], capture_output=True, text=True,
                       timeout=90)
    srv.close()
    assert p.returncode == 2 and "no Dask scheduler answered" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_real_scheduler_passes_the_handshake():
    from distributed import LocalCluster

    from infra.parallel import check_scheduler
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                      protocol="tcp", host="127.0.0.1") as cluster:
        check_scheduler(cluster.scheduler_address, timeout=10)      # no ConnectionError


def test_empty_cache_variable_means_the_default(monkeypatch, tmp_path):
    """FREQSENS_CACHE='' is "unset" (XDG's rule), never the working directory."""
    from pathlib import Path
    from nets.data import cache_dir
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FREQSENS_CACHE", "")
    assert cache_dir() == Path.home() / ".cache" / "freqsens"
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"


@pytest.mark.parametrize("poison", ["no_header_name", "header_list", "short_labels", "wrong_mean", "zero_std"])
def test_poisoned_cache_is_rebuilt(monkeypatch, tmp_path, capsys, poison):
    """A cache npz with wrong keys, header or shapes is one line on stderr and rebuilt, never a traceback."""
    import json
    from nets.data import cached
    from nets.data.base import ImageData, load_npz
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 3, 4, 4), dtype=np.uint8)
    y = np.arange(6) % 2

    def build():
        return ImageData("toy", x, y, x[:2], y[:2], x[:2], y[:2], ["a", "b"])
    config = {"dataset": "toy"}
    good = cached(config, build)
    path = next(tmp_path.glob("toy-*.npz"))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["header"]))
    if poison == "no_header_name":
        del header["name"]
    elif poison == "header_list":
        header = [1, 2]
    elif poison == "short_labels":
        arrays["y_train"] = arrays["y_train"][:3]
    elif poison == "wrong_mean":
        arrays["mean"] = np.zeros(7)
    else:
        arrays["std"] = np.zeros(3)
    arrays["header"] = json.dumps(header)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    from nets.data import DataError
    with pytest.raises(DataError, match=str(path.name)):
        load_npz(path)
    again = cached(config, build)
    assert "rebuilding it" in capsys.readouterr().err
    np.testing.assert_array_equal(again.x_train, good.x_train)
    assert load_npz(path).name == "toy"      # the rebuilt cache is sound


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_result_json_fifo_or_dev_zero_refused_by_the_report(tmp_path, kind):
    """A FIFO or /dev/zero planted as a saved experiment result: freqsens report names it in one line (exit 2)
    at once instead of hanging or reading until memory runs out."""
    d = tmp_path / "res"
    (d / "experiments").mkdir(parents=True)
    (d / "experiment_config.json").write_text('{"dataset": "embedded"}')
    (d / ".freqsens.json").write_text('{"tool": "nets.experiments"}')
    if kind == "fifo":
        os.mkfifo(d / "experiments" / "depth.json")
    else:
        os.symlink("/dev/zero", d / "experiments" / "depth.json")
    p = subprocess.run([sys.executable, "-m", "nets", "report", str(d)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "depth.json" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (d / "report.md").exists()
