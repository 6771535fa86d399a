"""nets.experiments (registry, sweep, trends) / nets.report / the heat-map measure at CI size."""
import json
import subprocess
import sys

import numpy as np
import pytest

from nets.experiments.trends import trend
from nets.measures import radial_kl

TINY_DATA = "synthetic:grf?n_train=240&n_val=60&n_test=60&H=8&W=8&alpha=2"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path / "cache"))


def test_trend_detects_planted_monotone_trend_and_not_a_flat_one():
    """A planted decreasing trend (3 seeds, small noise) is 'supported'; a flat noisy one is not; one seed is
    'inconclusive' (no spread to resample)."""
    rng = np.random.default_rng(0)
    xs = [1, 2, 3, 4, 5]
    planted = [list(10 - 2 * x + 0.1 * rng.standard_normal(3)) for x in xs]
    flat = [list(5 + rng.standard_normal(3)) for _ in xs]
    assert trend(xs, planted)["verdict"] == "supported" and trend(xs, planted)["spearman"] == pytest.approx(-1)
    assert trend(xs, flat)["verdict"] != "supported"
    assert trend(xs, [[v[0]] for v in planted])["verdict"] == "inconclusive"
    assert trend(xs, [list(-np.array(v)) for v in planted])["verdict"] == "not supported"
    assert trend(xs[:3], planted[:3])["verdict"] == "inconclusive"   # 3 points: never significant


def test_radial_kl():
    g = np.array([1.0, 2.0, 3.0])
    assert radial_kl(None, g, g) == pytest.approx(0.0) and radial_kl(None, g, g[::-1]) > 0


def test_heat_map_matches_explicit_gratings():
    """Each heat-map entry equals the error rate under an explicitly built cosine grating
    cos(2 pi (ki h / H + kj w / W)) of unit norm over C x H x W, times epsilon and the per-image sign
    (a slow reference that never touches the DFT); the standard error is the binomial one."""
    import torch
    from nets.measures import fourier_heat_map
    torch.manual_seed(0)
    C, H, W, N, eps = 3, 6, 5, 40, 6.0
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(C * H * W, 4)).double()
    x, y = torch.randn(N, C, H, W, dtype=torch.float64), torch.randint(0, 4, (N,))
    hm = fourier_heat_map(model, x, y, epsilon=eps, seed=3)
    sign = np.random.default_rng(3).choice([-1.0, 1.0], N)
    hh, ww = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    errs = []
    for ki, kj in [(0, 0), (1, 0), (0, 2), (2, 3), (3, 1), (5, 4)]:
        g = np.cos(2 * np.pi * (ki * hh / H + kj * ww / W))
        g = np.broadcast_to(g, (C, H, W)) / np.linalg.norm(np.broadcast_to(g, (C, H, W)))
        xp = x + torch.tensor(eps * sign[:, None, None, None] * g)
        with torch.no_grad():
            ref = float((model(xp).argmax(1) != y).double().mean())
        assert hm.mean[ki, kj] == pytest.approx(ref, abs=1e-12), (ki, kj)
        errs.append(ref)
    assert len(set(errs)) > 1   # the gratings are large enough to change some predictions
    assert np.allclose(hm.se, np.sqrt(hm.mean * (1 - hm.mean) / N)) and hm.n == N


def run(out, *extra, name="all"):
    return subprocess.run([sys.executable, "-m", "nets.experiments", name, "--dataset", TINY_DATA, "--preset", "tiny",
                           "--seeds", "1", "--out", str(out), *extra], capture_output=True, text=True, timeout=900)


def test_registry_end_to_end_cache_and_report(tmp_path):
    """'all' runs every experiment at tiny size and writes the report; a re-run skips every cached task (no
    training: the runs' metrics files are untouched); the report rebuilds from saved results alone."""
    out = tmp_path / "r"
    p = run(out)
    assert p.returncode == 0, p.stderr[-3000:]
    for name in ("stats", "depth", "decay", "resnet", "linear", "spectra", "heatmap"):
        assert (out / "experiments" / f"{name}.json").exists(), name
    report = (out / "report.md").read_text()
    for section in ("Hypothesis I", "Hypothesis II", "Spectral swap", "Theorem 4.9", "heat maps", "Conjecture 4.13",
                    "Theory checks", "Provenance"):
        assert section in report, section
    mtimes = {f: f.stat().st_mtime for f in (out / "runs").glob("*/metrics.jsonl")}
    p = run(out, "--no-report", name="depth")
    assert p.returncode == 0
    assert {f: f.stat().st_mtime for f in (out / "runs").glob("*/metrics.jsonl")} == mtimes
    (out / "report.md").unlink()
    from nets.report import build_report
    assert "Hypothesis I" in build_report(out).read_text()


def test_dask_local_cluster(tmp_path):
    """The depth sweep runs on a Dask LocalCluster with 2 workers and gives the same runs as in-process."""
    pytest.importorskip("distributed")
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(a, "--no-report", name="depth").returncode == 0
    p = run(b, "--no-report", "--scheduler", "local", "--workers", "2", name="depth")
    assert p.returncode == 0, p.stderr[-2000:]
    ra = {r["key"]: r["moment1"] for r in json.loads((a / "experiments" / "depth.json").read_text())["runs"]}
    rb = {r["key"]: r["moment1"] for r in json.loads((b / "experiments" / "depth.json").read_text())["runs"]}
    assert ra == rb


def test_bad_input(tmp_path):
    """Unknown experiment / dataset / preset, a folder of a different config, a missing CIFAR path: exit 2."""
    e = [sys.executable, "-m", "nets.experiments"]
    for args, msg in ((["nope"], "invalid choice"), (["depth", "--preset", "huge"], "invalid choice"),
                      (["depth", "--dataset", "imagenet", "--out", str(tmp_path / "x")], "unknown name 'imagenet'"),
                      (["depth", "--dataset", "cifar10", "--data-root", str(tmp_path), "--out", str(tmp_path / "y")],
                       "CIFAR-10 not found")):
        p = subprocess.run(e + args, capture_output=True, text=True, timeout=120)
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "experiment_config.json").write_text(json.dumps({"dataset": "embedded"}))
    p = run(tmp_path / "z", name="depth")
    assert p.returncode == 2 and "different config" in p.stderr
