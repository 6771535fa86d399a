"""nets.analysis (freqsens analyze) and the measures as a library: any model, any images, any size, many classes."""
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
    p = subprocess.run([sys.executable, "-m", "nets", "train", "--dataset", spec, "--depth", "2", "--width", "3",
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
    p = subprocess.run([sys.executable, "-m", "nets", "analyze", "--model", "zoo:small", "--weights",
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
    args = [sys.executable, "-m", "nets", "analyze", "--model", "zoo:net", "--data", f"folder:{root}", "--size", "8",
            "--batch-size", "3"]
    e = env(tmp_path, PYTHONPATH=str(tmp_path / "mods"))
    import nets.analysis as A
    chunk = A.gradient_map.__defaults__[1]   # the chunk size: shrink the run to several chunks instead
    assert chunk >= 1
    ref = subprocess.run(args + ["--out", str(tmp_path / "ref")], capture_output=True, text=True, timeout=300, env=e)
    assert ref.returncode == 0, ref.stderr
    code = ("import sys, nets.analysis as A\nd = list(A.gradient_map.__defaults__)\nd[1] = 6\n"
            "A.gradient_map.__defaults__ = tuple(d)\nfrom nets.cli.analyze import main\nsys.exit(main(sys.argv[1:]))\n")
    cut = subprocess.run([sys.executable, "-c", code, *args[4:], "--out", str(tmp_path / "cut")], capture_output=True,
                         text=True, timeout=300, env={**e, "FREQSENS_CRASH_AT": "analyze-chunk:2"})
    assert cut.returncode == -9 and (tmp_path / "cut" / ".partial-gradient.npz").exists()
    again = subprocess.run([sys.executable, "-c", code, *args[4:], "--out", str(tmp_path / "cut")], capture_output=True,
                           text=True, timeout=300, env=e)
    assert again.returncode == 0 and "resuming the gradient pass at image 12/20" in again.stderr, again.stderr
    a, b = np.load(tmp_path / "ref" / "sensitivity.npz"), np.load(tmp_path / "cut" / "sensitivity.npz")
    assert np.allclose(a["mean"], b["mean"], rtol=1e-6) and np.allclose(a["se"], b["se"], rtol=1e-5)
    assert not (tmp_path / "cut" / ".partial-gradient.npz").exists()


def test_readme_example_runs(tmp_path):
    """The README's analyze example, run as written on a generated folder of JPEGs (``./run.sh`` replaced by the
    environment's ``freqsens`` console script, which ./run.sh execs once set up): ``./mymodel.py`` is found from
    the working directory without PYTHONPATH."""
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
    freqsens = Path(sys.executable).parent / "freqsens"
    assert freqsens.exists(), "the console script: run ./run.sh setup (pip install -e .)"
    assert "./run.sh analyze" in block and "PYTHONPATH" not in block
    script = block.replace("./run.sh ", f"{freqsens} ")
    p = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env=env(tmp_path, PYTHONPATH=str(Path(__file__).resolve().parent.parent)))
    assert p.returncode == 0, p.stderr[-2000:]
    out = tmp_path / "analysis"
    for f in ("report.md", "sensitivity.png", "heatmap.png", "tau.png", "analysis.json"):
        assert (out / f).exists(), f
    res = json.loads((out / "analysis.json").read_text())
    assert res["images"] == 8 and res["shape"] == [3, 32, 32] and res["heatmap"]["max_frequency"] is None


def _run_analyze(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "nets", "analyze", *args], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env(tmp_path, PYTHONPATH=str(tmp_path)))


def test_analyze_warns_and_shows_the_untrained_twin(tmp_path):
    """An untrained model, no --size: the report and stderr warn (size default, accuracy at chance, twin as close
    to tau as the model); the twin is measured and sits next to the model in the table and the radial figure.
    --size far from the images' own size is warned about too."""
    write_folder(tmp_path / "imgs", n=6, size=(40, 44))
    (tmp_path / "m.py").write_text(
        "import torch\ndef f():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), "
        "torch.nn.Flatten(), torch.nn.Linear(4 * 32 * 32, 2))\n"
        "def always_first():\n    m = f()\n    with torch.no_grad():\n        m[3].bias.copy_(torch.tensor([100.0, 0.0]))\n"
        "    return m\n")
    p = _run_analyze(tmp_path, "--model", "m:f", "--dataset", f"folder:{tmp_path / 'imgs'}", "--out", "a")
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads((tmp_path / "a" / "analysis.json").read_text())
    warns = " ".join(res["warnings"])
    acc = res["accuracy"]
    assert "--size not given" in warns and (acc["accuracy"] <= acc["chance"] + 0.05) == ("against chance" in warns)
    assert "--size not given" in p.stderr and "warning:" in p.stderr
    assert "twin" in res and res["twin"]["n_images"] == 12 and (tmp_path / "a" / "radial.png").exists()
    assert (tmp_path / "a" / "sensitivity_untrained.npz").exists()
    report = (tmp_path / "a" / "report.md").read_text()
    assert "## Warnings: read these first" in report and "untrained twin" in report
    twin_close = res["twin"]["similarity"]["spearman_tau"] >= res["gradient"]["similarity"]["spearman_tau"] - 0.05
    assert twin_close == ("agrees with tau as much" in warns)
    p = _run_analyze(tmp_path, "--model", "m:always_first", "--dataset", f"folder:{tmp_path / 'imgs'}", "--size", "32",
                     "--no-twin", "--out", "b")
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads((tmp_path / "b" / "analysis.json").read_text())
    assert "twin" not in res and any("--size 32: the images' shorter sides have a median of 41" in w for w in res["warnings"])
    # a model that always answers class 0 on two balanced classes: accuracy 0.5 = chance, always warned
    assert res["accuracy"] == {"accuracy": 0.5, "chance": 0.5, "n_images": 12}
    assert any("against chance 0.500" in w for w in res["warnings"]) and "against chance" in p.stderr
    # no --mean/--std given: the warning names the missing normalisation as the likely cause (issue 36)
    assert any("no --mean/--std was given" in w for w in res["warnings"] if "against chance" in w)


def test_stratified_sampling_keeps_class_shares():
    """--max-images / --heat-images: every class in proportion (within one image), sorted, unique, seeded."""
    from nets.analysis import stratified
    y = np.repeat([0, 1, 2, 3, 4], [64, 36, 50, 2, 48])
    for n in (5, 17, 100, 199):
        idx = stratified(y, n, seed=3)
        assert len(idx) == n and len(set(idx)) == n and np.all(np.diff(idx) > 0)
        counts = np.bincount(y[idx], minlength=5)
        assert np.all(np.abs(counts - n * np.bincount(y) / len(y)) <= 1), counts
        assert np.array_equal(idx, stratified(y, n, seed=3))
    assert np.array_equal(stratified(y, 500), np.arange(len(y)))


def test_measures_meet_pytorch_users_where_they_are():
    """Dict batches (named key), uint8 batches scaled by 1/255, labels taken from the loader by the heat map,
    the model's training flag restored, a short Map repr, fourier_stats on a DataLoader."""
    from nets.measures import fourier_heat_map
    from theory.spectra import fourier_stats, tau
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3))
    x8 = torch.randint(0, 256, (12, 3, 6, 6), dtype=torch.uint8)
    y = torch.arange(12) % 3
    x = x8.float() / 255
    ref = frequency_sensitivity(model, x)
    model.train()
    dict_loader = [{"image": x8[:6], "label": y[:6]}, {"image": x8[6:], "label": y[6:]}]
    with pytest.warns(UserWarning, match="uint8 batches are scaled by 1/255"):
        S = frequency_sensitivity(model, dict_loader)
    assert model.training and all(m.training for m in model.modules())
    assert np.allclose(S.mean, ref.mean, rtol=1e-5) and S.n == 12
    with pytest.raises(ValueError, match="keys"):
        frequency_sensitivity(model, [{"pixels": x}])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=5)
    hm = fourier_heat_map(model, loader, epsilon=1.0, max_frequency=1)
    assert hm.n == 12 and model.training
    r = repr(hm)
    assert len(r) < 200 and r.startswith("Map(shape=(6, 6), n=12")
    assert np.allclose(fourier_stats(loader).tau, tau(x.numpy()))


def test_weights_files_as_users_have_them(tmp_path):
    """--weights: a plain state dict, one under "state_dict", DataParallel's "module." prefix all load; a
    mismatch names the missing and unexpected keys; a pickled whole model says to save a state_dict."""
    from nets.analysis import AnalyzeError, load_model
    (tmp_path / "wm.py").write_text("import torch\ndef f():\n    return torch.nn.Sequential(torch.nn.Flatten(), "
                                    "torch.nn.Linear(12, 2))\ndef g():\n    return torch.nn.Sequential(torch.nn.Flatten(), "
                                    "torch.nn.Linear(12, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))\n")
    sys.path.insert(0, str(tmp_path))
    try:
        torch.manual_seed(1)
        src = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
        sd = src.state_dict()
        for name, obj in (("plain", sd), ("wrapped", {"state_dict": sd, "epoch": 3}),
                          ("dp", {f"module.{k}": v for k, v in sd.items()})):
            torch.save(obj, tmp_path / f"{name}.pt")
            m = load_model("wm:f", str(tmp_path / f"{name}.pt"))
            assert torch.equal(m[1].weight, src[1].weight), name
        with pytest.raises(AnalyzeError, match=r"missing 2: 3.weight, 3.bias"):
            load_model("wm:g", str(tmp_path / "plain.pt"))
        torch.save({**sd, "extra.weight": torch.zeros(1)}, tmp_path / "extra.pt")
        with pytest.raises(AnalyzeError, match=r"unexpected 1: extra.weight"):
            load_model("wm:f", str(tmp_path / "extra.pt"))
        torch.save(src, tmp_path / "whole.pt")
        with pytest.raises(AnalyzeError, match="state_dict"):
            load_model("wm:f", str(tmp_path / "whole.pt"))
    finally:
        sys.path.remove(str(tmp_path))


def test_plot_radial_takes_fourier_stats_as_returned(tmp_path):
    """The documented call plot_radial({"model": S, "tau": fourier_stats(...)}) draws tau (it raised TypeError)."""
    import numpy as np

    from nets.measures.base import Map
    from nets.plots import plot_radial
    from theory.spectra import fourier_stats
    rng = np.random.default_rng(0)
    stats = fourier_stats([rng.standard_normal((20, 3, 8, 8))])
    S = Map(np.abs(rng.standard_normal((3, 8, 8))) + 0.1, np.full((3, 8, 8), 0.01), 20)
    plot_radial({"model": S, "tau": stats}, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_twin_verdict_on_planted_maps():
    """A map equal to tau against a flat twin is more tau-like (both intervals exclude 0); swapped, less; two
    copies of the same noisy map, not distinguishable. Point differences against a direct computation."""
    import numpy as np
    from scipy.stats import spearmanr

    from nets.analysis import twin_verdict
    from nets.measures import moment_without_dc, radial_curve
    from nets.measures.base import Map
    k = np.abs(np.fft.fftfreq(16) * 16)
    tau = np.broadcast_to(1.0 / (1.0 + k[:, None] ** 2 + k[None, :] ** 2), (3, 16, 16)).copy()
    rng = np.random.default_rng(1)
    model = Map(tau * (1 + 0.01 * rng.standard_normal(tau.shape)), 0.001 * tau, 100)
    flat = Map(np.ones_like(tau) + 0.01 * rng.standard_normal(tau.shape), np.full(tau.shape, 0.001), 100)
    v = twin_verdict(model, flat, tau)
    assert v["verdict"] == "more tau-like than its untrained twin"
    want = spearmanr(model.mean.ravel(), tau.ravel()).statistic - spearmanr(flat.mean.ravel(), tau.ravel()).statistic
    assert v["spearman"]["difference"] == pytest.approx(want)
    m = [moment_without_dc(*radial_curve(x.mean), 1) for x in (model, flat)]
    assert v["moment1_nodc"]["difference"] == pytest.approx(m[0] - m[1])
    assert twin_verdict(flat, model, tau)["verdict"] == "less tau-like than its untrained twin"
    noisy = Map(np.ones_like(tau), np.full(tau.shape, 0.5), 10)
    assert twin_verdict(noisy, noisy, tau)["verdict"] == "not distinguishable from its untrained twin"
