"""The bad-input table's shared world (files the cases point at) and its runner: every CLI, every kind of bad
input: exit status 2, one line on stderr that names the argument, no traceback, and nothing created or changed
under the output path. Each invocation runs in its own subprocess (``tests/cli_harness.py`` forks one child per
case after importing the CLI once). One file per command holds its cases (``bad_inputs/test_bad_<command>.py``); the
world fixture is registered for them by ``tests/conftest.py`` (``pytest_plugins``)."""
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent   # tests/
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


@pytest.fixture(scope="session")
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


def run_table(command: str, cases: list, hostile_from: int, group: str, world: Path) -> None:
    """Run ``cases[:hostile_from]`` (group "basic") or the rest ("hostile") of ``command``'s table and fail with
    every case that did not exit 2 with one line naming its argument, or that changed its watched path."""
    chosen = cases[:hostile_from] if group == "basic" else cases[hostile_from:]
    todo = [{"argv": T(world, *argv), "watch": watch.replace("{w}", str(world)),
             "env": {"FREQSENS_CACHE": str(world / "cache"), "FREQSENS_DATA": ""}} for argv, _, watch in chosen]
    p = subprocess.run([sys.executable, str(HERE / "cli_harness.py"), command, json.dumps(todo)], capture_output=True,
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


def groups(cases: list, hostile_from: int) -> list:
    """The pytest params of one command's table: its first ``hostile_from`` cases in the default suite, the
    hostile rest (issue 25's careless and careful users) under the ``slow`` marker."""
    return ([pytest.param("basic", id="basic")] if hostile_from > 0 else []) + \
           ([pytest.param("hostile", id="hostile", marks=pytest.mark.slow)] if hostile_from < len(cases) else [])
