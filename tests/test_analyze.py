"""nets.analysis (python -m nets.analyze) and the measures as a library: any model, any images, any size, many classes."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from nets.measures import frequency_sensitivity, probe_sensitivity
from theory.dft import dft2


def write_folder(root, n=8, size=(10, 12), seed=0):
    """Two classes of PNGs: class 1 is brighter. Odd, non-square sizes on purpose (they get centre-cropped)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    for c, name in enumerate(("dark", "bright")):
        (root / name).mkdir(parents=True)
        for i in range(n):
            img = np.clip(rng.normal(90 + 80 * c, 40, (size[0] + i % 3, size[1], 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / name / f"{i}.png")
    return root


def env(tmp_path, **extra):
    return {**os.environ, "FREQSENS_CACHE": str(tmp_path / "cache"), **extra}


@pytest.mark.parametrize("H, W", [(13, 17), (64, 64)])
@pytest.mark.parametrize("normalised", [False, True])
def test_linear_model_map_is_dft_of_its_weights(H, W, normalised):
    """f(x) = V x: the map is ||(dft2(V_k))_k|| at every frequency, for any image; with the normalisation inside,
    per pixel unit it is divided by std_c. Images given as a DataLoader of (x, y) batches."""
    C, K = 2, 3
    torch.manual_seed(0)
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(C * H * W, K, bias=True)).double()
    V = lin[1].weight.detach().reshape(K, C, H, W).numpy()
    x = torch.rand(10, C, H, W, dtype=torch.float64)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(10, dtype=torch.long)), batch_size=4)
    std = np.array([0.5, 2.0])
    S = frequency_sensitivity(lin, loader, normalise=([0.1, 0.2], std) if normalised else None)
    ref = np.sqrt((np.abs(dft2(V)) ** 2).sum(0)) / (std[:, None, None] if normalised else 1)
    assert np.allclose(S.mean, ref, rtol=1e-10) and np.allclose(S.se, 0, atol=1e-10) and S.n == 10


@pytest.mark.parametrize("K", [10, 100])
def test_probe_estimator_converges_like_one_over_sqrt_m(K):
    """Against the exact map: exact at m = K; the relative error falls at least like 1/sqrt(m) (faster near K:
    orthonormal probes sample without replacement, variance ~ (K - m) / (K m)); most entries lie within 2.5
    reported standard errors of the exact value."""
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(),
                                torch.nn.Linear(8 * 8 * 8, K)).double()
    x = torch.randn(48, 3, 8, 8, dtype=torch.float64)
    exact = frequency_sensitivity(model, x, batch_size=48).mean
    assert np.allclose(probe_sensitivity(model, x, probes=K, batch_size=48).mean, exact, rtol=1e-10)
    ms = [2, 8, 32] if K == 100 else [1, 2, 5]
    errs = []
    for m in ms:
        est = probe_sensitivity(model, x, probes=m, batch_size=48, seed=3)
        errs.append(float(np.sqrt(np.mean((est.mean - exact) ** 2)) / np.sqrt(np.mean(exact ** 2))))
        if m >= 5:
            assert np.mean(np.abs(est.mean - exact) <= 2.5 * est.se) >= 0.9, m
    slope = np.polyfit(np.log(ms), np.log(errs), 1)[0]
    assert -1.3 < slope < -0.4, (errs, slope)


def test_analyze_a_trained_model_from_a_factory_string(tmp_path):
    """A model trained by nets.train on a folder of PNGs, loaded by nets.analyze through MODULE:FACTORY and its
    best.pt: the saved map equals the in-process measure on the same pixel tensors with the same normalisation."""
    from nets.data import load_dataset
    from nets.models import build_model
    root = write_folder(tmp_path / "imgs")
    spec = f"folder:{root}?size=8&val_fraction=0.25&test_fraction=0.25"
    p = subprocess.run([sys.executable, "-m", "nets.train", "--dataset", spec, "--depth", "2", "--width", "3",
                        "--max-epochs", "2", "--batch-size", "4", "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=300, env=env(tmp_path))
    assert p.returncode == 0, p.stderr
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "zoo.py").write_text(
        "from nets.models import build_model\n"
        "def small():\n    return build_model('convactually', depth=2, width=3, classes=2, size=(8, 8))\n")
    monkey_env = env(tmp_path, PYTHONPATH=str(tmp_path / "mods") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkey_env["PYTHONPATH"] = str(tmp_path / "mods")
    data = load_dataset(spec)
    mean, std = [f"{v:.17g}" for v in data.mean], [f"{v:.17g}" for v in data.std]
    out = tmp_path / "an"
    p = subprocess.run([sys.executable, "-m", "nets.analyze", "--model", "zoo:small", "--weights",
                        str(tmp_path / "run" / "best.pt"), "--data", spec, "--mean", *mean, "--std", *std,
                        "--measures", "gradient,heatmap", "--out", str(out)], capture_output=True, text=True,
                       timeout=300, env=monkey_env, cwd=os.getcwd())
    assert p.returncode == 0, p.stderr[-2000:]
    model = build_model("convactually", depth=2, width=3, classes=2, size=(8, 8))
    model.load_state_dict(torch.load(tmp_path / "run" / "best.pt", weights_only=True)["model"])
    x = np.concatenate([data.split(s)[0] for s in ("train", "val", "test")]).astype(np.float32) / 255
    ref = frequency_sensitivity(model, torch.from_numpy(x), normalise=(data.mean, data.std))
    saved = np.load(out / "sensitivity.npz")
    assert np.allclose(saved["mean"], ref.mean, rtol=1e-5) and int(saved["n"]) == len(x)
    res = json.loads((out / "analysis.json").read_text())
    assert res["heatmap"]["n_images"] == len(x) and 0 <= res["heatmap"]["clean_error"] <= 1
    report = (out / "report.md").read_text()
    assert "How to read this" in report and "![](sensitivity.png)" in report and "![](heatmap.png)" in report


def test_analyze_resumes_after_a_kill(tmp_path):
    """SIGKILL after the first chunk's state is saved; the re-run continues from it and gives the same map."""
    root = write_folder(tmp_path / "imgs", n=10)
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "zoo.py").write_text(
        "import torch\ndef net():\n    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),"
        " torch.nn.Linear(4 * 6 * 6, 5))\n")
    args = [sys.executable, "-m", "nets.analyze", "--model", "zoo:net", "--data", f"folder:{root}", "--size", "8",
            "--batch-size", "3"]
    e = env(tmp_path, PYTHONPATH=str(tmp_path / "mods"))
    import nets.analysis as A
    chunk = A.gradient_map.__defaults__[1]   # the chunk size: shrink the run to several chunks instead
    assert chunk >= 1
    ref = subprocess.run(args + ["--out", str(tmp_path / "ref")], capture_output=True, text=True, timeout=300, env=e)
    assert ref.returncode == 0, ref.stderr
    code = ("import sys, nets.analysis as A\nd = list(A.gradient_map.__defaults__)\nd[1] = 6\n"
            "A.gradient_map.__defaults__ = tuple(d)\nfrom nets.cli.analyze import main\nsys.exit(main(sys.argv[1:]))\n")
    cut = subprocess.run([sys.executable, "-c", code, *args[3:], "--out", str(tmp_path / "cut")], capture_output=True,
                         text=True, timeout=300, env={**e, "FREQSENS_CRASH_AT": "analyze-chunk:2"})
    assert cut.returncode == -9 and (tmp_path / "cut" / ".partial-gradient.npz").exists()
    again = subprocess.run([sys.executable, "-c", code, *args[3:], "--out", str(tmp_path / "cut")], capture_output=True,
                           text=True, timeout=300, env=e)
    assert again.returncode == 0 and "resuming the gradient pass at image 12/20" in again.stderr, again.stderr
    a, b = np.load(tmp_path / "ref" / "sensitivity.npz"), np.load(tmp_path / "cut" / "sensitivity.npz")
    assert np.allclose(a["mean"], b["mean"], rtol=1e-6) and np.allclose(a["se"], b["se"], rtol=1e-5)
    assert not (tmp_path / "cut" / ".partial-gradient.npz").exists()


def test_readme_example_runs(tmp_path):
    """The README's nets.analyze example, run as written on a generated folder of JPEGs (./run.sh python replaced
    by this interpreter: the environment is already set up)."""
    import re
    from pathlib import Path
    from PIL import Image
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = re.search(r"<!-- analyze-example -->\n```bash\n(.*?)```", readme, re.S).group(1)
    rng = np.random.default_rng(0)
    for c in ("bright", "dark"):
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(4):
            img = np.clip(rng.normal(150 if c == "bright" else 80, 40, (70 + i, 90, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "photos" / c / f"{i}.jpg")
    script = block.replace("./run.sh python", sys.executable)
    p = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env=env(tmp_path, PYTHONPATH=str(Path(__file__).resolve().parent.parent)))
    assert p.returncode == 0, p.stderr[-2000:]
    out = tmp_path / "analysis"
    for f in ("report.md", "sensitivity.png", "heatmap.png", "tau.png", "analysis.json"):
        assert (out / f).exists(), f
    res = json.loads((out / "analysis.json").read_text())
    assert res["images"] == 8 and res["shape"] == [3, 32, 32] and res["heatmap"]["max_frequency"] is None
