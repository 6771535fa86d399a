"""Every CLI, every kind of bad input: exit status 2, one line on stderr that names the argument, no
traceback, and nothing created or changed under the output path. Each invocation runs in its own
subprocess (``cli_harness.py`` forks one child per case after importing the CLI once)."""
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
SMALL = "synthetic:grf?n_train=40&n_val=10&n_test=10&H=8&W=8"


def write_cifar(d: Path, skip=(), truncate=(), shape=None):
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        if name in skip:
            continue
        raw = pickle.dumps({b"data": rng.integers(0, 256, shape or (4, 3072), dtype=np.uint8),
                            b"labels": rng.integers(0, 10, 4).tolist()})
        (d / name).write_bytes(raw[: len(raw) // 2] if name in truncate else raw)
    return d


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Files the cases point at: a plain file, broken CIFAR copies, a finished tiny run."""
    w = tmp_path_factory.mktemp("world")
    (w / "afile").write_text("not a folder")
    write_cifar(w / "cifar_missing" / "cifar-10-batches-py", skip=("data_batch_2",))
    write_cifar(w / "cifar_truncated" / "cifar-10-batches-py", truncate=("data_batch_1",))
    write_cifar(w / "cifar_shape" / "cifar-10-batches-py", shape=(4, 3000))
    env = {"FREQSENS_CACHE": str(w / "cache")}
    p = subprocess.run([sys.executable, "-m", "nets", "train", "--dataset", SMALL, "--depth", "2", "--width", "2",
                        "--max-epochs", "1", "--batch-size", "20", "--out", str(w / "run")],
                       capture_output=True, text=True, timeout=300, env={**__import__("os").environ, **env})
    assert p.returncode == 0, p.stderr
    (w / "conj").mkdir()
    p = subprocess.run([sys.executable, "-m", "theory", "conjecture", "--samples", "8", "--chunk", "8", "--L", "2",
                        "--out", str(w / "conj")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    mods = w / "mods"
    mods.mkdir()
    (mods / "badmods.py").write_text(
        "import torch\n"
        "def notmodule():\n    return 3\n"
        "def boom():\n    raise RuntimeError('no weights here')\n"
        "def fourd():\n    return torch.nn.Identity()\n"
        "def good():\n    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))\n"
        "def other():\n    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 5))\n")
    import torch
    torch.save(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 5)).state_dict(), w / "other.pt")
    from PIL import Image
    for c in ("a", "b"):
        (w / "imgs" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((9, 11, 3), 40 * i + 100 * (c == "b"), np.uint8)).save(w / "imgs" / c / f"{i}.png")
    (w / "emptyimgs" / "a").mkdir(parents=True)
    (w / "emptyimgs" / "b").mkdir(parents=True)
    (w / "corruptimgs").mkdir()
    import shutil
    shutil.copytree(w / "imgs", w / "corruptimgs", dirs_exist_ok=True)
    (w / "corruptimgs" / "a" / "9.png").write_bytes(b"not a png")
    (w / "badrun").mkdir()
    (w / "badrun" / "config.json").write_text((w / "run" / "config.json").read_text())
    (w / "badrun" / "best.pt").write_bytes((w / "run" / "best.pt").read_bytes()[:200])
    _hostile_world(w)
    return w


USER_FILES = {"report.md": "my notes\n", "stats.json": "{}\n", "analysis.json": "[1]\n", "config.json": "{}\n",
              "search.json": "{}\n", "data/keep.txt": "precious\n"}


def _hostile_world(w: Path) -> None:
    """What #25's careless and careful users handed the CLIs: a folder of their own files, models that break
    the contract, images that attack the reader, corrupt or foreign state."""
    import os
    import shutil

    import torch
    from PIL import Image
    for name, text in USER_FILES.items():       # a folder freqsens did not write
        (w / "userdir" / name).parent.mkdir(parents=True, exist_ok=True)
        (w / "userdir" / name).write_text(text)
    (w / "userfile.json").write_text('{"mine": true}\n')
    mods = w / "mods"
    (mods / "importboom.py").write_text("raise RuntimeError('boom at import')\n")
    (mods / "syntaxerr.py").write_text("def f(:\n")
    (mods / "hostile.py").write_text(
        "import sys\nimport torch\nfrom torch import nn\n"
        "class Wrap(nn.Module):\n"
        "    def __init__(self, k=2, how=''):\n"
        "        super().__init__()\n        self.lin, self.how = nn.Linear(3 * 8 * 8, k), how\n"
        "    def forward(self, x):\n"
        "        if self.how == 'inplace':\n            x.add_(1)\n"
        "        if self.how == 'bigbatch' and x.shape[0] > 4:\n            raise RuntimeError('batch too large')\n"
        "        out = self.lin(x.flatten(1))\n"
        "        if self.how == 'nan':\n            return out * float('nan')\n"
        "        if self.how == 'detached':\n            return out.detach()\n"
        "        if self.how == 'integer':\n            return (out > 0).long()\n"
        "        if self.how == 'complex':\n            return torch.complex(out, out)\n"
        "        return out\n"
        "def exits():\n    sys.exit(0)\n"
        "def nan():\n    return Wrap(how='nan')\n"
        "def detached():\n    return Wrap(how='detached')\n"
        "def integer():\n    return Wrap(how='integer')\n"
        "def complexout():\n    return Wrap(how='complex')\n"
        "def zero():\n    return Wrap(k=0)\n"
        "def inplace():\n    return Wrap(how='inplace')\n"
        "def bigbatch():\n    return Wrap(how='bigbatch')\n"
        "def metadevice():\n    return Wrap().to('meta')\n")
    torch.save(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2)), w / "whole.pt")  # pickled
    for kind in ("fifo", "loop", "dangling", "strip", "bomb"):
        shutil.copytree(w / "imgs", w / f"{kind}imgs")
    os.mkfifo(w / "fifoimgs" / "a" / "x.png")
    os.symlink(w / "loopimgs" / "a" / "x.png", w / "loopimgs" / "a" / "x.png")
    os.symlink(w / "nowhere.png", w / "danglingimgs" / "a" / "x.png")
    Image.new("L", (2_000_000, 1)).save(w / "stripimgs" / "a" / "x.png")
    Image.new("1", (12_000, 12_000)).save(w / "bombimgs" / "a" / "x.png")      # 144 Mpixels in a few kB
    import io
    import zipfile
    with zipfile.ZipFile(w / "bomb.npz", "w") as zf:   # declares 1e9 x 3 x 32 x 32 float64 (24 TB)
        for name, shape, descr in (("x.npy", (10 ** 9, 3, 32, 32), "<f8"), ("y.npy", (10 ** 9,), "<i8")):
            h = io.BytesIO()
            np.lib.format.write_array_header_1_0(h, {"descr": descr, "fortran_order": False, "shape": shape})
            zf.writestr(name, h.getvalue())
    np.savez(w / "oneval.npz", x=np.random.default_rng(0).integers(0, 256, (5, 3, 8, 8), dtype=np.uint8),
             y=np.arange(5) % 2)   # splits 3 / 1 / 1
    np.savez(w / "biglabel.npz", x=np.zeros((4, 3, 8, 8), np.uint8), y=np.array([0, 1, 0, 10 ** 9]))
    # a run whose last.pt lacks the optimiser state (a foreign or hand-made checkpoint)
    shutil.copytree(w / "run", w / "noopt")
    ck = torch.load(w / "run" / "last.pt", weights_only=True)
    torch.save({k: v for k, v in ck.items() if k != "optimizer"}, w / "noopt" / "last.pt")
    (w / "noopt" / "result.json").unlink()
    # a results folder whose experiment result does not parse
    (w / "badexp" / "experiments").mkdir(parents=True)
    (w / "badexp" / ".freqsens.json").write_text('{"tool": "nets.experiments"}')
    (w / "badexp" / "experiment_config.json").write_text('{"dataset": "embedded"}')
    (w / "badexp" / "experiments" / "depth.json").write_text('{"truncated": ')
    # conjecture states: keys missing, or a list
    for name, text in (("conjkeys", '{"samples": 3}'), ("conjlist", "[1, 2]")):
        (w / name).mkdir()
        (w / name / ".freqsens.json").write_text('{"tool": "theory.conjecture_search"}')
        (w / name / "search.json").write_text(text)


def T(w, *a):
    return [str(x).replace("{w}", str(w)) for x in a]


# (CLI module, argv with {w} for the world folder, the argument the message must name, the path to watch)
CASES = {
    "train": [
        (["--bogus", "1", "--out", "{w}/o1"], "--bogus", "{w}/o1"),
        (["--depth", "abc", "--out", "{w}/o1"], "--depth", "{w}/o1"),
        (["--depth", "0", "--out", "{w}/o1"], "--depth", "{w}/o1"),
        (["--width", "-3", "--out", "{w}/o1"], "--width", "{w}/o1"),
        (["--batch-size", "0", "--out", "{w}/o1"], "--batch-size", "{w}/o1"),
        (["--max-epochs", "0", "--out", "{w}/o1"], "--max-epochs", "{w}/o1"),
        (["--seed", "-1", "--out", "{w}/o1"], "--seed", "{w}/o1"),
        (["--lr", "nan", "--out", "{w}/o1"], "--lr", "{w}/o1"),
        (["--lr", "0", "--out", "{w}/o1"], "--lr", "{w}/o1"),
        (["--weight-decay", "-1", "--out", "{w}/o1"], "--weight-decay", "{w}/o1"),
        (["--lr-drops", "3,2", "--out", "{w}/o1"], "--lr-drops", "{w}/o1"),
        (["--lr-drops", "x", "--out", "{w}/o1"], "--lr-drops", "{w}/o1"),
        (["--optimizer", "rmsprop", "--out", "{w}/o1"], "--optimizer", "{w}/o1"),
        (["--model", "vgg", "--out", "{w}/o1"], "model", "{w}/o1"),
        (["--preset", "huge", "--out", "{w}/o1"], "--preset", "{w}/o1"),
        (["--dataset", "imagenet", "--out", "{w}/o1"], "dataset", "{w}/o1"),
        (["--dataset", "synthetic:grf?alpha=abc", "--out", "{w}/o1"], "alpha", "{w}/o1"),
        (["--dataset", "embedded?n_train=-1", "--out", "{w}/o1"], "n_train", "{w}/o1"),
        (["--dataset", "embedded?foo=1", "--out", "{w}/o1"], "foo", "{w}/o1"),
        (["--dataset", SMALL, "--filter", "highpass:1.5", "--out", "{w}/o1"], "filter", "{w}/o1"),
        (["--dataset", SMALL, "--filter", "sharpen", "--out", "{w}/o1"], "filter", "{w}/o1"),
        (["--dataset", SMALL, "--device", "bogus", "--out", "{w}/o1"], "device", "{w}/o1"),
        (["--dataset", SMALL, "--out", "{w}/afile"], "--out", "{w}/afile"),
        (["--dataset", SMALL, "--out", "{w}/afile/sub"], "--out", "{w}/afile"),
        (["--dataset", SMALL, "--resume", "--out", "{w}/missing"], "--resume", "{w}/missing"),
        (["--dataset", SMALL, "--depth", "2", "--width", "2", "--max-epochs", "1", "--batch-size", "20",
          "--weight-decay", "0.5", "--resume", "--out", "{w}/run"], "different config", "{w}/run"),
        (["--dataset", "cifar10", "--data-root", "{w}/cifar_missing", "--out", "{w}/o1"], "data_batch_2", "{w}/o1"),
        (["--dataset", "cifar10", "--data-root", "{w}/cifar_truncated", "--out", "{w}/o1"], "data_batch_1", "{w}/o1"),
        (["--dataset", "cifar10", "--data-root", "{w}/cifar_shape", "--out", "{w}/o1"], "CIFAR-10 file", "{w}/o1"),
        (["--dataset", "cifar10", "--data-root", "{w}/nowhere", "--out", "{w}/o1"], "CIFAR-10 not found", "{w}/o1"),
        # issue 25: validation before any side effect, resource bombs, devices, user folders, corrupt state
        (["--dataset", SMALL, "--seed", "100000000000000", "--out", "{w}/o1"], "--seed", "{w}/o1"),
        (["--dataset", SMALL, "--seed", str(2 ** 64), "--out", "{w}/o1"], "--seed", "{w}/o1"),
        (["--dataset", SMALL, "--device", "cpu:7", "--out", "{w}/o1"], "device", "{w}/o1"),
        (["--dataset", SMALL, "--device", "meta", "--out", "{w}/o1"], "device", "{w}/o1"),
        (["--dataset", SMALL, "--device", "mps", "--out", "{w}/o1"], "device", "{w}/o1"),
        (["--dataset", SMALL, "--device", "cuda:5", "--out", "{w}/o1"], "device", "{w}/o1"),
        (["--dataset", SMALL, "--lr", "1e300", "--out", "{w}/o1"], "--lr", "{w}/o1"),
        (["--dataset", SMALL, "--depth", "4", "--width", "100000", "--out", "{w}/o1"], "--width 100000", "{w}/o1"),
        (["--dataset", SMALL, "--depth", "100000", "--out", "{w}/o1"], "--depth 100000", "{w}/o1"),
        (["--dataset", "synthetic:grf?H=100000", "--out", "{w}/o1"], "H=100000", "{w}/o1"),
        (["--dataset", "synthetic:grf?n_train=100000000", "--out", "{w}/o1"], "n_train", "{w}/o1"),
        (["--dataset", "synthetic:grf?seed=-1", "--out", "{w}/o1"], "seed", "{w}/o1"),
        (["--dataset", SMALL, "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
        (["--dataset", SMALL, "--out", ""], "--out", "{w}/afile"),
        (["--dataset", SMALL, "--out", "/"], "--out", "{w}/afile"),
        (["--dataset", SMALL, "--depth", "2", "--width", "2", "--max-epochs", "1", "--batch-size", "20", "--resume",
          "--out", "{w}/noopt"], "optimizer", "{w}/noopt"),
    ],
    "experiments": [
        (["nope", "--out", "{w}/e1"], "name", "{w}/e1"),
        (["depth", "--bogus", "--out", "{w}/e1"], "--bogus", "{w}/e1"),
        (["depth", "--seeds", "0", "--out", "{w}/e1"], "--seeds", "{w}/e1"),
        (["depth", "--workers", "0", "--out", "{w}/e1"], "--workers", "{w}/e1"),
        (["depth", "--preset", "huge", "--out", "{w}/e1"], "--preset", "{w}/e1"),
        (["depth", "--dataset", "imagenet", "--out", "{w}/e1"], "dataset", "{w}/e1"),
        (["depth", "--dataset", "synthetic:grf?alpha=abc", "--out", "{w}/e1"], "alpha", "{w}/e1"),
        (["depth", "--dataset", "embedded?n_train=-1", "--out", "{w}/e1"], "n_train", "{w}/e1"),
        (["depth", "--dataset", SMALL, "--out", "{w}/afile"], "--out", "{w}/afile"),
        (["depth", "--dataset", SMALL, "--out", "{w}/afile/sub"], "--out", "{w}/afile"),
        (["depth", "--dataset", "cifar10", "--data-root", "{w}/cifar_truncated", "--out", "{w}/e1"], "data_batch_1",
         "{w}/e1"),
        (["depth", "--dataset", SMALL, "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
        (["depth", "--dataset", SMALL, "--out", ""], "--out", "{w}/afile"),
        (["depth", "--dataset", SMALL, "--out", "/"], "--out", "{w}/afile"),
        (["depth", "--dataset", SMALL, "--scheduler", "tcp://127.0.0.1:1", "--out", "{w}/e1"], "--scheduler", "{w}/e1"),
        (["depth", "--dataset", SMALL, "--scheduler", "not an address", "--out", "{w}/e1"], "--scheduler", "{w}/e1"),
        (["depth", "--dataset", SMALL, "--device", "meta", "--out", "{w}/e1"], "device", "{w}/e1"),
    ],
    "stats": [
        (["--dataset", "synthetic:grf?alpha=abc", "--out", "{w}/s1"], "alpha", "{w}/s1"),
        (["--dataset", "embedded?n_train=-1", "--out", "{w}/s1"], "n_train", "{w}/s1"),
        (["--dataset", "embedded?foo=1", "--out", "{w}/s1"], "foo", "{w}/s1"),
        (["--dataset", "imagenet", "--out", "{w}/s1"], "dataset", "{w}/s1"),
        (["--dataset", SMALL, "--filter", "highpass:1.5", "--out", "{w}/s1"], "filter", "{w}/s1"),
        (["--dataset", SMALL, "--filter", "bandpass:0.5,0.2", "--out", "{w}/s1"], "filter", "{w}/s1"),
        (["--dataset", SMALL, "--max-images", "1", "--out", "{w}/s1"], "--max-images", "{w}/s1"),
        (["--dataset", SMALL, "--split", "bogus", "--out", "{w}/s1"], "--split", "{w}/s1"),
        (["--dataset", SMALL, "--seed", "-1", "--out", "{w}/s1"], "--seed", "{w}/s1"),
        (["--dataset", SMALL, "--out", "{w}/afile"], "--out", "{w}/afile"),
        (["--dataset", SMALL, "--out", "{w}/afile/sub"], "--out", "{w}/afile"),
        (["--dataset", "cifar10", "--data-root", "{w}/cifar_missing", "--out", "{w}/s1"], "data_batch_2", "{w}/s1"),
        (["--dataset", "cifar10", "--data-root", "{w}/cifar_shape", "--out", "{w}/s1"], "CIFAR-10 file", "{w}/s1"),
        (["--dataset", SMALL, "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
        (["--dataset", SMALL, "--out", "/"], "--out", "{w}/afile"),
        (["--dataset", SMALL, "--seed", str(2 ** 64), "--out", "{w}/s1"], "--seed", "{w}/s1"),
        (["--dataset", "synthetic:grf?n_train=40&n_val=10&n_test=10&H=128&W=128", "--out", "{w}/s1"], "--no-covariance",
         "{w}/s1"),
        # issue 34: flat images (no variance to fit) and a split of one image
        (["--dataset", "folder:{w}/imgs", "--out", "{w}/s1"], "--dataset", "{w}/s1"),
        (["--dataset", "npz:{w}/oneval.npz", "--split", "val", "--out", "{w}/s1"], "--split val", "{w}/s1"),
    ],
    "sensitivity": [
        (["{w}/missing"], "run_dir", "{w}/missing"),
        (["{w}/run", "--max-images", "1"], "--max-images", "{w}/run"),
        (["{w}/run", "--batch-size", "0"], "--batch-size", "{w}/run"),
        (["{w}/run", "--split", "bogus"], "--split", "{w}/run"),
        (["{w}/run", "--device", "bogus"], "device", "{w}/run"),
        (["{w}/badrun"], "best.pt", "{w}/badrun"),
        (["{w}/run", "--device", "meta"], "device", "{w}/run"),
        (["{w}/userdir"], "run_dir", "{w}/userdir"),
    ],
    "report": [
        ([], "RESULTS_DIR", "{w}/afile"),
        (["{w}/missing"], "RESULTS_DIR", "{w}/afile"),
        (["{w}/userdir"], "RESULTS_DIR", "{w}/userdir"),
        (["{w}/badexp"], "depth.json", "{w}/badexp"),
    ],
    "conjecture": [
        (["--L", "0", "--out", "{w}/c1"], "--L", "{w}/c1"),
        (["--L", "a,b", "--out", "{w}/c1"], "--L", "{w}/c1"),
        (["--time", "-1", "--out", "{w}/c1"], "--time", "{w}/c1"),
        (["--time", "nan", "--out", "{w}/c1"], "--time", "{w}/c1"),
        (["--samples", "0", "--out", "{w}/c1"], "--samples", "{w}/c1"),
        (["--regime", "bogus", "--out", "{w}/c1"], "--regime", "{w}/c1"),
        (["--adversarial-every", "-1", "--out", "{w}/c1"], "--adversarial-every", "{w}/c1"),
        (["--seed", "-1", "--out", "{w}/c1"], "--seed", "{w}/c1"),
        (["--samples", "8", "--out", "{w}/afile"], "--out", "{w}/afile"),
        (["--samples", "8", "--L", "3", "--resume", "--out", "{w}/conj"], "different config", "{w}/conj"),
        (["--samples", "8", "--out", "{w}/conj"], "--resume", "{w}/conj"),
        (["--samples", "8", "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
        (["--samples", "8", "--out", "/"], "--out", "{w}/afile"),
        (["--samples", "8", "--max-dim", "100000", "--out", "{w}/c1"], "--max-dim", "{w}/c1"),
        (["--samples", "8", "--chunk", "1000000000", "--out", "{w}/c1"], "--chunk", "{w}/c1"),
        (["--samples", "8", "--scheduler", "tcp://127.0.0.1:1", "--out", "{w}/c1"], "--scheduler", "{w}/c1"),
        (["--samples", "8", "--resume", "--out", "{w}/conjkeys"], "--resume", "{w}/conjkeys"),
        (["--samples", "8", "--resume", "--out", "{w}/conjlist"], "--resume", "{w}/conjlist"),
    ],
    "bench": [
        (["bogus"], "NAME", "{w}/afile"),
        (["--repeats", "0"], "--repeats", "{w}/afile"),
        (["--min-time", "nan"], "--min-time", "{w}/afile"),
        (["--min-time", "0"], "--min-time", "{w}/afile"),
        (["--threads", "x"], "--threads", "{w}/afile"),
        (["--small", "--out", "{w}/afile/r.json"], "--out", "{w}/afile"),
        (["--small", "--out", "/dev/full"], "--out", "/dev/full"),
        (["--small", "--out", "/dev/null"], "--out", "/dev/null"),
        (["--small", "--out", "{w}"], "--out", "{w}/afile"),
        (["--small", "--out", "{w}/userfile.json"], "--overwrite", "{w}/userfile.json"),
    ],
    "throughput": [
        (["vgg"], "models", "{w}/afile"),
        (["convactually-dx"], "models", "{w}/afile"),
        (["--batch", "0"], "--batch", "{w}/afile"),
        (["--device", "bogus"], "device", "{w}/afile"),
        (["--out", "{w}/afile/t.json"], "--out", "{w}/afile"),
        (["--out", "/dev/null"], "--out", "/dev/null"),
        (["--out", "{w}/userfile.json"], "--overwrite", "{w}/userfile.json"),
        (["--device", "meta"], "device", "{w}/afile"),
        (["linearcnn-d2", "--batch", "100000000", "--out", "{w}/t1.json"], "--batch 100000000", "{w}/t1.json"),
    ],
    "gpu-check": [
        (["--width", "-3", "--out", "{w}/g1"], "--width", "{w}/g1"),
        (["--budget", "10", "--out", "{w}/g1"], "--budget", "{w}/g1"),
        (["--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
        (["--device", "meta", "--out", "{w}/g1"], "device", "{w}/g1"),
    ],
    "analyze": [
        (["--model", "nosuchmodule:f", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "badmods:nothere", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "badmods", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "badmods:notmodule", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model",
         "{w}/a1"),
        (["--model", "badmods:boom", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "badmods:fourd", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "9", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "badmods:good", "--weights", "{w}/other.pt", "--data", "folder:{w}/imgs", "--size", "8",
          "--out", "{w}/a1"], "--weights", "{w}/a1"),
        (["--model", "badmods:good", "--weights", "{w}/afile", "--data", "folder:{w}/imgs", "--size", "8",
          "--out", "{w}/a1"], "--weights", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/emptyimgs", "--size", "8", "--out", "{w}/a1"], "--data", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/nowhere", "--size", "8", "--out", "{w}/a1"], "--data", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/corruptimgs", "--size", "8", "--out", "{w}/a1"], "9.png",
         "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "0", "--out", "{w}/a1"], "--size", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--mean", "0.5", "--std", "0.2",
          "--out", "{w}/a1"], "--mean", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--std", "0", "0", "0",
          "--mean", "0", "0", "0", "--out", "{w}/a1"], "--std", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--measures", "fancy",
          "--out", "{w}/a1"], "--measures", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--probes", "-1",
          "--out", "{w}/a1"], "--probes", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/afile"], "--out",
         "{w}/afile"),
        (["--model", "importboom:f", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "syntaxerr:f", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", ".badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "hostile:exits", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "sys.exit", "{w}/a1"),
        (["--model", "hostile:nan", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "non-finite", "{w}/a1"),
        (["--model", "hostile:detached", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "detached", "{w}/a1"),
        (["--model", "hostile:integer", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "floating-point", "{w}/a1"),
        (["--model", "hostile:complexout", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "floating-point", "{w}/a1"),
        (["--model", "hostile:zero", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "0 outputs", "{w}/a1"),
        (["--model", "hostile:inplace", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "--model", "{w}/a1"),
        (["--model", "hostile:bigbatch", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "batch of 6", "{w}/a1"),
        (["--model", "hostile:metadevice", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/a1"], "meta device",
         "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--mean", "127", "127", "127", "--std", "60", "60", "60", "--out", "{w}/a1"], "--mean", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--mean", "0.5", "0.5", "0.5", "--std", "1e-9", "1e-9", "1e-9", "--out", "{w}/a1"], "--std", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--mean", "1e9", "0", "0", "--std", "1", "1", "1", "--out", "{w}/a1"], "--mean", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--out", "/"], "--out", "{w}/afile"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--device", "meta", "--out", "{w}/a1"], "device", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "8", "--weights", "{w}/whole.pt", "--out", "{w}/a1"], "state_dict", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/imgs", "--size", "100000", "--out", "{w}/a1"], "--size", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/fifoimgs", "--size", "8", "--out", "{w}/a1"], "x.png", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/loopimgs", "--size", "8", "--out", "{w}/a1"], "x.png", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/danglingimgs", "--size", "8", "--out", "{w}/a1"], "x.png", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/stripimgs", "--size", "8", "--out", "{w}/a1"], "x.png", "{w}/a1"),
        (["--model", "badmods:good", "--data", "folder:{w}/bombimgs", "--size", "8", "--out", "{w}/a1"], "x.png", "{w}/a1"),
        (["--model", "badmods:good", "--data", "npz:{w}/bomb.npz", "--out", "{w}/a1"], "bomb.npz", "{w}/a1"),
        (["--model", "badmods:good", "--data", "npz:{w}/biglabel.npz", "--out", "{w}/a1"], "labels", "{w}/a1"),
    ],
    "check": [
        (["--instances", "0"], "--instances", "{w}/afile"),
        (["--only", "bogus"], "--only", "{w}/afile"),
        (["--seed", "-1"], "--seed", "{w}/afile"),
        (["--json", "{w}/afile/sub.json", "--only", "dft-dense", "--instances", "1"], "--json", "{w}/afile"),
        (["--json", "/dev/full", "--only", "dft-dense", "--instances", "1"], "--json", "/dev/full"),
        (["--json", "/dev/null", "--only", "dft-dense", "--instances", "1"], "--json", "/dev/null"),
        (["--json", "{w}", "--only", "dft-dense", "--instances", "1"], "--json", "{w}/afile"),
        (["--json", "{w}/userfile.json", "--only", "dft-dense", "--instances", "1"], "--overwrite", "{w}/userfile.json"),
        (["--json", "", "--only", "dft-dense", "--instances", "1"], "--json", "{w}/afile"),
    ],
}


# Where each module's issue-25 cases (hostile models, images, folders, devices, resource bombs, corrupt state)
# start: they run under the ``slow`` marker (CI runs both), the earlier ones in the default suite.
HOSTILE_FROM = {"train": 30, "experiments": 11, "stats": 13, "sensitivity": 6,
                "report": 2, "conjecture": 11, "bench": 6, "throughput": 5,
                "gpu-check": 0, "analyze": 18, "check": 4}
GROUPS = [pytest.param(m, "basic", id=f"{m}-basic") for m in CASES if HOSTILE_FROM.get(m, len(CASES[m])) > 0] + \
         [pytest.param(m, "hostile", id=f"{m}-hostile", marks=pytest.mark.slow) for m in CASES
          if HOSTILE_FROM.get(m, len(CASES[m])) < len(CASES[m])]


@pytest.mark.parametrize("module, group", GROUPS)
def test_bad_inputs_exit_2_with_one_line(module, group, world):
    k = HOSTILE_FROM.get(module, len(CASES[module]))
    chosen = CASES[module][:k] if group == "basic" else CASES[module][k:]
    cases = [{"argv": T(world, *argv), "watch": watch.replace("{w}", str(world)),
              "env": {"FREQSENS_CACHE": str(world / "cache"), "FREQSENS_DATA": ""}} for argv, _, watch in chosen]
    p = subprocess.run([sys.executable, str(HERE / "cli_harness.py"), module, json.dumps(cases)], capture_output=True,
                       text=True, timeout=600, cwd=HERE.parent,
                       env={**__import__("os").environ, "PYTHONPATH": str(world / "mods")})
    assert p.returncode == 0, p.stderr[-3000:]
    problems = []
    for (argv, names, _), r in zip(chosen, json.loads(p.stdout)):
        lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
        ok = (r["code"] == 2 and len(lines) == 1 and "Traceback" not in r["stderr"] and names in lines[0]
              and not r["changed"])
        if not ok:
            problems.append(f"{argv}: exit {r['code']}, stderr {r['stderr'][-400:]!r}, changed {r['changed']}")
    assert not problems, f"{len(problems)} of {len(chosen)}:\n" + "\n".join(problems)


def _lib_cases():
    import torch
    from nets.data import DataError, ImageData, load_dataset
    from nets.data.synthetic import gaussian_field
    from nets.measures import compare_sensitivity, fourier_heat_map, frequency_sensitivity, moment
    from nets.models import FFTCircularConv2d, build_model
    from theory import regression as R
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2))
    x = torch.randn(4, 3, 4, 4)
    xn = x.clone()
    xn[0, 0, 0, 0] = float("nan")
    y = torch.zeros(4, dtype=torch.long)
    z = np.zeros((1, 1, 2, 2), np.float32)
    xh = np.fft.fft2(np.random.default_rng(0).standard_normal((5, 1, 2, 2)), norm="ortho")
    return [
        (lambda: frequency_sensitivity(m, xn), "x: expected finite"),
        (lambda: frequency_sensitivity(m, x[0]), "x: expected an array of images"),
        (lambda: frequency_sensitivity(m, x, batch_size=0), "batch_size"),
        (lambda: fourier_heat_map(m, xn, y), "x: expected finite"),
        (lambda: fourier_heat_map(m, x, y, epsilon=float("inf")), "epsilon"),
        (lambda: compare_sensitivity(np.ones((3, 4, 4)), np.ones((3, 4, 5)), 0.1), "S, tau"),
        (lambda: moment(np.arange(3.0), np.zeros(3), 1), "g:"),
        (lambda: build_model("convactually", depth=0), "depth"),
        (lambda: build_model("convactually", width=0), "width"),
        (lambda: FFTCircularConv2d(0, 2, (4, 4)), "in_channels"),
        (lambda: FFTCircularConv2d(2, 2, (0, 4)), "size[0]"),
        (lambda: ImageData("t", z.repeat(2, 0), np.array([0, 5]), z, np.array([0]), z, np.array([0]), ["a", "b"]),
         "y_train: expected labels in 0..1"),
        (lambda: ImageData("t", z, np.array([0.5]), z, np.array([0]), z, np.array([0]), ["a"]), "integer labels"),
        (lambda: ImageData("t", z * np.nan, np.array([0]), z, np.array([0]), z, np.array([0]), ["a"]), "finite"),
        (lambda: gaussian_field(2, alpha=float("nan")), "alpha"),
        (lambda: R.soft_threshold_diagonal(xh, np.ones(5), -1.0), "lam"),
        (lambda: R.soft_threshold_diagonal(xh, np.ones(5), float("nan")), "lam"),
        (lambda: R.solve(xh, np.ones(5), float("nan")), "lam"),
        (lambda: load_dataset("embedded?n_train=-1"), "n_train"),
        (lambda: load_dataset("synthetic:grf?H=0"), "H"),
    ], (ValueError, DataError)


def test_bad_inputs_to_library_functions():
    """NaN/inf arrays, mismatched shapes, zero sizes, negative or NaN penalties: one ValueError (or its
    DataError subclass) whose message names the argument."""
    cases, errors = _lib_cases()
    problems = []
    for i, (call, name) in enumerate(cases):
        try:
            call()
            problems.append(f"case {i}: no error")
        except errors as exc:
            if name not in str(exc):
                problems.append(f"case {i}: {exc!r} does not name {name!r}")
    assert not problems, problems


def test_run_sh_suggests_the_verb_and_prints_its_whole_usage():
    """./run.sh analyse (the README's British spelling): exit 2, one line with the close match; ./run.sh alone
    prints the header to its last line (it was cut mid-sentence)."""
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    p = subprocess.run(["bash", str(root / "run.sh"), "analyse"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "did you mean 'analyze'?" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    u = subprocess.run(["bash", str(root / "run.sh")], capture_output=True, text=True, timeout=60)
    assert u.returncode == 0 and u.stdout.rstrip().endswith("default torch==2.13.0, a CPU build here).")


@pytest.mark.parametrize("argv, want", [
    (["deph"], "(did you mean 'depth'?)"),
    (["depth", "--preset", "cifar-myrtl"], "(did you mean 'cifar-myrtle'?)"),
    (["depth", "--sedes", "2"], "--sedes -> --seeds"),
])
def test_misspellings_get_a_suggestion(argv, want, capsys):
    """One line, exit 2, and the close match (issue 36)."""
    from nets.cli.experiments import main
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and want in err[0]
