"""nets.experiments / nets.statistics / nets.report / nets.heatmap at CI size."""
import json
import subprocess
import sys

import numpy as np
import pytest

from nets.statistics import radial_kl, trend

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


def test_heat_map_of_a_linear_model():
    """For a linear classifier, the error under a grating depends only on the grating's frequency: the map is
    symmetric under k -> -k and all entries are error rates in [0, 1]."""
    import torch
    from nets.heatmap import fourier_heat_map
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 4))
    x, y = torch.randn(30, 3, 6, 6), torch.randint(0, 4, (30,))
    hm = fourier_heat_map(model, x, y, epsilon=2.0)
    I, J = np.meshgrid((-np.arange(6)) % 6, (-np.arange(6)) % 6, indexing="ij")
    assert np.all((hm >= 0) & (hm <= 1)) and np.array_equal(hm, hm[I, J])


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
