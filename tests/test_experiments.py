"""nets.experiments (registry, sweep, trends) / nets.report / the heat-map measure at CI size."""
import json
from pathlib import Path
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
    t = trend(xs, planted)
    assert t["slope"] == pytest.approx(-2, abs=0.1) and t["slope_t_ci"][1] < 0 and t["slope_ci"][1] < 0


def test_trend_slope_t_interval_matches_an_explicit_least_squares_fit():
    """The t-interval of the pooled slope equals the textbook formula (independent numpy algebra)."""
    from scipy.stats import t as student_t
    rng = np.random.default_rng(1)
    xs = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    vals = [list(1 + 0.3 * x + rng.standard_normal(3)) for x in xs]
    X = np.repeat(xs, 3)
    Y = np.concatenate(vals)
    A = np.stack([np.ones_like(X), X], 1)
    coef, res, *_ = np.linalg.lstsq(A, Y, rcond=None)
    s2 = res[0] / (len(X) - 2)
    se = np.sqrt(s2 * np.linalg.inv(A.T @ A)[1, 1])
    half = student_t.ppf(0.975, len(X) - 2) * se
    got = trend(xs, vals, direction="increasing")["slope_t_ci"]
    assert got == pytest.approx([coef[1] - half, coef[1] + half], rel=1e-9)


def test_trend_table_decides_only_from_runs_that_learned():
    """Runs that fail the learning gate never enter a verdict: a planted trend whose runs all failed the gate is
    'inconclusive' with the reason, and dropping one value's runs leaves the others' slope intact."""
    from nets.experiments.trends import trend_table
    rng = np.random.default_rng(0)
    rows = [{"model": "m", "depth": d, "seed": s, "learned": True, "moment1_nodc": 10 - d + 0.05 * rng.standard_normal(),
             "moment1": 5.0, "moment2": 1.0, "moment2_nodc": 1.0, "midband_slope": -d, "spearman_tau": 0.1 * d}
            for d in range(1, 6) for s in range(3)]
    assert trend_table(rows, "depth", "model")["m"]["moment1_nodc"]["verdict"] == "supported"
    failed = [{**r, "learned": False} for r in rows]
    t = trend_table(failed, "depth", "model")["m"]["moment1_nodc"]
    assert t["verdict"] == "inconclusive" and "learning gate" in t["reason"]
    # the excluded runs carry a wild value: if they leaked into the fit the slope would flip
    mixed = rows + [{**r, "learned": False, "moment1_nodc": 100.0 * r["depth"]} for r in rows]
    assert trend_table(mixed, "depth", "model")["m"]["moment1_nodc"]["slope"] == pytest.approx(-1, abs=0.05)


def test_learning_gate_rules():
    """The settled-map gate (trends.GATE) on planted tracks: a settled map passes, a drifting one fails, an
    accuracy at chance fails, and the bound is max(0.25 x seed spread, 0.05)."""
    from nets.experiments.trends import GATE, learning_gate, map_drift, pooled_spread
    assert GATE["settle_fraction"] == 0.25 and GATE["settle_abs"] == 0.05
    assert learning_gate(0.5, 0.1, [7.00, 7.04, 7.06], spread=0.5)[0]            # moves 0.04 <= 0.125
    ok, why = learning_gate(0.5, 0.1, [7.0, 7.5, 7.9], spread=0.5)                # moves 0.5 > 0.125
    assert not ok and "still moving" in why and "0.500" in why
    ok, why = learning_gate(0.15, 0.1, [7.0, 7.0, 7.0], spread=0.5)               # an untrained-like accuracy
    assert not ok and "chance" in why and "validation" in why
    assert not learning_gate(0.5, 0.1, [7.0], spread=0.5)[0]                      # one tracked epoch
    assert learning_gate(0.5, 0.1, [7.0, 7.04], spread=float("nan"))[0]          # no spread: the absolute bound
    assert not learning_gate(0.5, 0.1, [7.0, 7.06], spread=0.01)[0]               # 0.06 > max(0.0025, 0.05)
    assert map_drift([1.0, 1.3, 1.2]) == pytest.approx(0.3)
    # pooled SD against the textbook formula: settings of 3 and 2 values (one singleton ignored)
    a, b = [1.0, 2.0, 4.0], [3.0, 3.5]
    want = np.sqrt((2 * np.var(a, ddof=1) + 1 * np.var(b, ddof=1)) / 3)
    assert pooled_spread([a, b, [9.0]]) == pytest.approx(want)


def test_robust_verdict_needs_both_checkpoints():
    """A trend decided at the last epoch but not at the one before is "not settled"; ungated and removed values
    are reported beside it."""
    from nets.experiments.trends import trend_table
    rng = np.random.default_rng(0)
    rows = [{"model": "m", "depth": d, "moment1_nodc": 10 - d + 0.1 * rng.standard_normal(),
             "headline_prev": 10 + 0.3 * rng.standard_normal(), "learned": d != 5} for d in range(1, 6) for _ in range(3)]
    e = trend_table(rows, "depth", "model")["m"]
    assert e["moment1_nodc"]["verdict"] == "supported" and e["robust"]["previous"]["verdict"] == "inconclusive"
    assert e["robust"]["verdict"] == "not settled" and e["robust"]["removed_values"] == [5]
    assert e["robust"]["ungated"]["verdict"] == "supported" and e["robust"]["ungated"]["x"] == [1, 2, 3, 4, 5]
    for r in rows:
        r["headline_prev"] = r["moment1_nodc"] + 0.01
    assert trend_table(rows, "depth", "model")["m"]["robust"]["verdict"] == "supported"


def test_equivalence_margin():
    from nets.experiments.trends import EQUIVALENCE_MARGIN, within_margin
    assert within_margin({"slope_ci": [-0.1, 0.1], "slope_t_ci": [-0.2, 0.25]})
    assert not within_margin({"slope_ci": [-0.1, 0.1], "slope_t_ci": [-0.2, EQUIVALENCE_MARGIN + 0.01]})
    assert not within_margin({"slope_ci": [float("nan")] * 2, "slope_t_ci": [-0.1, 0.1]})


def _colour_data(same_mean: bool, n=300, seed=0):
    """Two-class images: classes differ only in mean colour (red vs blue offset on the same noise), or share
    the mean colour and differ only in spatial structure (horizontal vs vertical stripes)."""
    from nets.data import ImageData
    rng = np.random.default_rng(seed)

    def make(m):
        y = rng.integers(0, 2, m)
        x = 0.5 + 0.05 * rng.standard_normal((m, 3, 8, 8))
        if same_mean:
            stripes = np.cos(np.pi * np.arange(8))[:, None] * np.ones((8, 8))
            x += 0.2 * np.where(y[:, None, None, None] == 0, stripes, stripes.T)
        else:
            x[:, 0] += 0.1 * (y == 0)[:, None, None]
            x[:, 2] += 0.1 * (y == 1)[:, None, None]
        return x.astype(np.float32), y.astype(np.int64)
    return ImageData("colour", *make(n), *make(n // 3), *make(n), classes=["a", "b"])


def test_mean_colour_control_separates_colour_from_structure():
    """~100 % when the classes differ only in mean colour, ~chance when they share it; after the per-image
    standardise filter even the colour task is at chance (the means are gone)."""
    from nets.data import apply_filter
    from nets.experiments.control import mean_colour_accuracy
    assert mean_colour_accuracy(_colour_data(False))["test_accuracy"] > 0.97
    assert mean_colour_accuracy(_colour_data(True))["test_accuracy"] < 0.65
    std = apply_filter(_colour_data(False), "standardise")
    assert mean_colour_accuracy(std)["test_accuracy"] < 0.65
    x = std.x_train
    assert np.abs(x.mean(axis=(2, 3))).max() < 1e-5 and np.allclose(x.std(axis=(1, 2, 3)), 1, atol=1e-4)


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
    return subprocess.run([sys.executable, "-m", "nets", "experiments", name, "--dataset", TINY_DATA, "--preset", "tiny",
                           "--seeds", "1", "--out", str(out), *extra], capture_output=True, text=True, timeout=900)


def test_registry_end_to_end_cache_and_report(tmp_path):
    """'all' runs every experiment at tiny size; each run's numbers are recomputed from its saved files by an
    independent path (moments from the saved map, Spearman against tau of the training images, test
    accuracy from result.json) and the report shows them; a re-run trains nothing and reproduces the report
    byte for byte; the report rebuilds from saved results alone."""
    from scipy.stats import spearmanr
    from nets.data import load_dataset
    from nets.measures import moment, radial_curve
    from theory.spectra import tau
    out = tmp_path / "r"
    p = run(out)
    assert p.returncode == 0, p.stderr[-3000:]
    for name in ("stats", "control", "depth", "decay", "resnet", "linear", "spectra", "heatmap", "theory"):
        assert (out / "experiments" / f"{name}.json").exists(), name
    from nets.experiments.sweep import load_result
    depth = load_result(out, "depth")   # run paths are saved relative to the results folder
    data = load_dataset(TINY_DATA)
    report = (out / "report.md").read_text()
    from nets.report import answer_lines, verdicts
    rows, answer = verdicts(out), answer_lines(out)    # --answer: one sentence per verdict row, same verdicts
    assert rows and len(answer) == len(rows)
    assert all(v.claim in a and f"**{v.verdict}**" in a for v, a in zip(rows, answer))
    natural = [r for r in depth["runs"] if r["data"] == "natural"]   # (whitened rows: tau of the filtered data)
    assert natural and {r["data"] for r in depth["runs"]} == {"natural", "whitened"}
    for r in natural:
        n_train = json.loads((Path(r["run"]) / "config.json").read_text())["config"]["n_train"]
        t = tau(data.normalised("train")[:n_train])      # tau of the images this run trained on
        S = np.load(Path(r["run"]) / "sensitivity.npz")["mean"]
        rr, g = radial_curve(S)
        assert r["moment1"] == pytest.approx(moment(rr, g, 1), rel=1e-12)
        assert r["spearman_tau"] == pytest.approx(spearmanr(S.ravel(), t.ravel()).statistic, abs=1e-9)
        res = json.loads((Path(r["run"]) / "result.json").read_text())
        assert r["test_acc"] == res["test_acc"]
        assert f"| convactually | natural | {r['depth']} | 0 | {r['test_acc']:.3g} | {res['chance']:.3g} |" in report
        assert f"| {r['moment1']:.3g} | {r['moment1_nodc']:.3g} |" in report
    import csv
    import io
    from nets.report import runs_csv
    table = list(csv.DictReader(io.StringIO(runs_csv(out))))   # --csv: one row per run, the saved numbers
    assert len([t for t in table if t["experiment"] == "depth"]) == len(depth["runs"])
    by_run = {t["run"]: t for t in table if t["experiment"] == "depth"}
    assert all(float(by_run[r["run"]]["moment1_nodc"]) == r["moment1_nodc"] for r in depth["runs"])
    tr = trend([1, 2, 3], [[r["moment1"] for r in natural if r["depth"] == d] for d in (1, 2, 3)])
    assert tr["verdict"] == depth["hypothesis_I"]["natural"]["moment1"]["verdict"] == "inconclusive"  # 1 seed
    mtimes = {f: f.stat().st_mtime for f in (out / "runs").glob("*/metrics.jsonl")}
    p = run(out)
    assert p.returncode == 0
    assert {f: f.stat().st_mtime for f in (out / "runs").glob("*/metrics.jsonl")} == mtimes
    assert (out / "report.md").read_text() == report
    (out / "report.md").unlink()
    from nets.report import build_report
    assert build_report(out).read_text() == report


def test_extending_needs_no_framework_edit(tmp_path, monkeypatch):
    """A toy dataset, measure and experiment registered from here run through the sweep (a trained task) and
    appear in the report: extending is a new definition plus a registry call."""
    import torch
    from nets.data import DatasetSpec, ImageData, register_dataset, unregister_dataset
    from nets.experiments import Context, Experiment, TaskPool, make_task, register_experiment, unregister_experiment
    from nets.experiments.driver import run_experiment
    from nets.measures import Map, MeasureSpec, measure, register_measure, unregister_measure
    from nets.report import build_report
    from nets.measuring import load_trained
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path / "cache"))

    def toy(seed=0, n=60):   # two classes that differ in mean brightness
        rng = np.random.default_rng(seed)
        y = np.arange(3 * n) % 2
        x = (rng.random((3 * n, 1, 4, 4)) + y[:, None, None, None]).astype(np.float32)
        return ImageData("toy", x[:n], y[:n], x[n:2 * n], y[n:2 * n], x[2 * n:], y[2 * n:], ["dark", "bright"])

    def mean_logit(model, x, y=None):
        with torch.no_grad():
            v = model(x)[:, 1].double()
        return Map(np.array(float(v.mean())), np.array(float(v.std() / len(v) ** 0.5)), len(v))

    def run_toy(ctx, p, pool):
        tasks = [make_task(ctx, {"experiment": "toy", "model": "convactually"}, "convactually", s, depth=1,
                           max_epochs=p["epochs"], n_test=None) for s in range(ctx.seeds)]
        rows = pool.run_tasks("toy", tasks)
        model, _, data = load_trained(rows[0]["run"])
        m = measure("toy_mean_logit", model, torch.from_numpy(data.normalised("test")))
        return {"rows": rows, "mean_logit": float(m.mean)}

    register_dataset(DatasetSpec("toy", toy, "test data"))
    register_measure(MeasureSpec("toy_mean_logit", mean_logit, "mean logit of class 1"))
    register_experiment(Experiment("toy", "Toy", {"tiny": {"epochs": 3}}, run_toy,
                                   lambda out, res: ["## Toy experiment", "", f"mean logit {res['mean_logit']:.6f}", ""],
                                   in_all=False))
    try:
        ctx = Context("toy", "tiny", 1, tmp_path / "out")
        res = run_experiment("toy", ctx, TaskPool())
        assert "error" not in res["rows"][0] and res["rows"][0]["test_acc"] > 0.9
        report = build_report(ctx.out).read_text()
        assert f"mean logit {res['mean_logit']:.6f}" in report
        assert run_experiment("toy", ctx, TaskPool())["mean_logit"] == res["mean_logit"]   # kept, not recomputed
    finally:
        unregister_experiment("toy")
        unregister_measure("toy_mean_logit")
        unregister_dataset("toy")


@pytest.mark.slow
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
    e = [sys.executable, "-m", "nets", "experiments"]
    for args, msg in ((["nope"], "invalid choice"), (["depth", "--preset", "huge"], "invalid choice"),
                      (["depth", "--dataset", "imagenet", "--out", str(tmp_path / "x")], "unknown name 'imagenet'"),
                      (["depth", "--dataset", "cifar10", "--data-root", str(tmp_path), "--out", str(tmp_path / "y")],
                       "CIFAR-10 not found")):
        p = subprocess.run(e + args, capture_output=True, text=True, timeout=120)
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "experiment_config.json").write_text(json.dumps({"dataset": "embedded"}))
    p = run(tmp_path / "z", name="depth")   # no freqsens marker: a folder of the user's, refused as such
    assert p.returncode == 2 and "--overwrite" in p.stderr
    (tmp_path / "z" / ".freqsens.json").write_text(json.dumps({"tool": "nets.experiments"}))
    p = run(tmp_path / "z", name="depth")
    assert p.returncode == 2 and "different config" in p.stderr


def test_mean_colour_control_planted():
    """The mean-colour classifier reaches ~100 % when classes differ only in mean colour and ~chance when they
    share it (labels decided by spatial structure only)."""
    from nets.data import ImageData
    from nets.experiments.control import mean_colour_accuracy
    rng = np.random.default_rng(0)

    def make(colour: bool):
        n = 600
        y = rng.integers(0, 3, n)
        x = rng.normal(0.5, 0.05, (n, 3, 8, 8))
        if colour:
            x[np.arange(n), y] += 0.2                                   # class = which channel is brighter
        else:
            x[:, :, ::2, :] += np.where(y == 1, 0.2, -0.2 * (y == 2))[:, None, None, None]  # stripes, mean kept
            x[:, :, 1::2, :] -= np.where(y == 1, 0.2, -0.2 * (y == 2))[:, None, None, None]
        x = x.astype(np.float32)
        return ImageData("t", x[:400], y[:400], x[400:500], y[400:500], x[500:], y[500:], ["a", "b", "c"])

    assert mean_colour_accuracy(make(True))["test_accuracy"] > 0.95
    r = mean_colour_accuracy(make(False))
    assert r["test_accuracy"] < r["chance"] + 0.15


def _linear_readout(C, H, W, K, seed):
    """The identity followed by a fixed linear read-out (float64), and its matrix."""
    import torch
    torch.manual_seed(seed)
    lin = torch.nn.Linear(C * H * W, K, bias=True).double()
    return torch.nn.Sequential(torch.nn.Flatten(), lin), lin.weight.detach().numpy(), lin.bias.detach().numpy()


def _grating(C, H, W, ki, kj):
    """cos(2 pi (ki h / H + kj w / W)) of unit norm per channel, built by explicit loops: (H, W)."""
    g = np.array([[np.cos(2 * np.pi * (ki * h / H + kj * w / W)) for w in range(W)] for h in range(H)])
    return g / np.linalg.norm(g)


def test_published_heat_map_matches_closed_form_of_a_linear_readout():
    """Published convention (pixel space, sign per image and channel, clip to [0, 1], then normalise): for the
    identity followed by a fixed linear read-out, the error at a few frequencies equals the closed form
    argmax(A ((clip(x + eps s v_k) - m) / sd) + b) computed here in numpy; epsilon large enough to clip."""
    import torch
    from nets.measures import fourier_heat_map
    C, H, W, N, K, eps = 3, 6, 5, 60, 4, 0.8
    model, A, b = _linear_readout(C, H, W, K, 0)
    rng = np.random.default_rng(1)
    x = rng.random((N, C, H, W))
    y = rng.integers(0, K, N)
    m, sd = np.array([0.4, 0.5, 0.6]), np.array([0.2, 0.25, 0.3])
    hm = fourier_heat_map(model, torch.tensor(x), torch.tensor(y), epsilon=eps, seed=5, normalise=(m, sd))
    sign = np.random.default_rng(5).choice([-1.0, 1.0], (N, C))
    clipped = 0
    for ki, kj in [(0, 0), (1, 0), (0, 2), (2, 3), (3, 1)]:
        v = _grating(C, H, W, ki, kj)
        xp = x + eps * sign[:, :, None, None] * v
        clipped += int(((xp < 0) | (xp > 1)).sum())
        z = (np.clip(xp, 0, 1) - m[:, None, None]) / sd[:, None, None]
        ref = float(((z.reshape(N, -1) @ A.T + b).argmax(1) != y).mean())
        assert hm.mean[ki, kj] == pytest.approx(ref, abs=1e-12), (ki, kj)
    assert clipped > 0   # the clip is exercised


def test_first_order_heat_map_is_the_exact_logit_change_of_a_linear_model():
    """For a linear read-out the first-order map is exact: E_n |A (eps s_n * v_k) / sd| per frequency, with the
    heat map's signs; and for a nonlinear model it matches a small-epsilon finite difference."""
    import torch
    from nets.measures import first_order_heat_map
    C, H, W, N, K, eps = 3, 6, 5, 30, 4, 0.5
    model, A, _ = _linear_readout(C, H, W, K, 2)
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.random((N, C, H, W)))
    m, sd = np.array([0.4, 0.5, 0.6]), np.array([0.2, 0.25, 0.3])
    fo = first_order_heat_map(model, x, epsilon=eps, seed=7, normalise=(m, sd), batch_size=7)
    sign = np.random.default_rng(7).choice([-1.0, 1.0], (N, C))
    for ki, kj in [(0, 0), (1, 0), (0, 2), (2, 3), (3, 4), (5, 1)]:
        d = eps * sign[:, :, None, None] * _grating(C, H, W, ki, kj) / sd[:, None, None]
        ref = np.linalg.norm(d.reshape(N, -1) @ A.T, axis=1).mean()
        # rel 1e-6: Normalised stores mean / std as float32 (a 1e-8 relative rounding of sd)
        assert fo.mean[ki, kj] == pytest.approx(ref, rel=1e-6), (ki, kj)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(C * H * W, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, K)).double()
    small = 1e-6
    fo = first_order_heat_map(net, x, epsilon=small, seed=7, normalise=(m, sd))
    with torch.no_grad():
        for ki, kj in [(1, 0), (2, 3)]:
            d = torch.tensor(small * sign[:, :, None, None] * _grating(C, H, W, ki, kj) / sd[:, None, None])
            z = (x - torch.tensor(m)[:, None, None]) / torch.tensor(sd)[:, None, None]
            ref = (net(z + d) - net(z)).norm(dim=1).mean().item()
            assert fo.mean[ki, kj] == pytest.approx(ref, rel=1e-4), (ki, kj)


@pytest.mark.parametrize("H, W", [(32, 32), (5, 6), (7, 3)])
def test_fft_extent_centres_pixels_on_signed_frequencies(H, W):
    """The figures' imshow extent puts each fftshift-ed pixel centre on its signed frequency (numpy's
    fftfreq order), odd sizes included."""
    from nets.plots import fft_extent
    left, right, bottom, top = fft_extent(H, W)
    for n, lo, hi in ((W, left, right), (H, bottom, top)):
        k = np.fft.fftshift(np.fft.fftfreq(n, 1 / n))
        centres = lo + 0.5 + np.arange(n) * (hi - lo) / n
        assert np.allclose(centres, k), (n, centres, k)


def test_train_all_trains_every_planned_task_once_longest_first(tmp_path):
    """The driver's shared pool: the tasks of all selected experiments, a task two experiments share once, in
    decreasing ``task_cost``; experiments left out by the preset or already finished contribute nothing; each
    experiment is charged its own tasks' wall times."""
    from nets.experiments import Context, Experiment, TaskPool, make_task, register_experiment, unregister_experiment
    from nets.experiments.driver import train_all
    from nets.experiments.sweep import task_cost
    ctx = Context(TINY_DATA, "tiny", 1, tmp_path / "out")

    def plan(depths, epochs=2):
        return lambda ctx, p: [make_task(ctx, {"model": "convactually"}, "convactually", 0, depth=d, max_epochs=epochs)
                               for d in depths]

    class Recorder(TaskPool):
        def run_tasks(self, name, tasks):
            object.__setattr__(self, "seen", [*getattr(self, "seen", []), list(tasks)])
            return [{"seconds": float(t.train.depth)} for t in tasks]

    section = lambda out, res: []   # noqa: E731
    exps = [Experiment("toy_a", "A", {"tiny": {}}, None, section, in_all=False, training=plan([1, 3])),
            Experiment("toy_b", "B", {"tiny": {}}, None, section, in_all=False, training=plan([3, 2])),
            Experiment("toy_c", "C", {"tiny": {"skip": "not in this preset"}}, None, section, in_all=False,
                       training=plan([5]))]
    for e in exps:
        register_experiment(e)
    try:
        pool = Recorder()
        spent = train_all(["toy_a", "toy_b", "toy_c"], ctx, pool)
        (tasks,) = pool.seen
        assert [t.train.depth for t in tasks] == [3, 2, 1]   # depth 3 shared: once; toy_c skipped
        costs = [task_cost(t) for t in tasks]
        assert costs == sorted(costs, reverse=True) and costs[0] > costs[-1]
        assert spent["per_experiment"] == {"toy_a": {"tasks": 2, "worker_seconds": 4.0},
                                           "toy_b": {"tasks": 1, "worker_seconds": 2.0}}
        (ctx.out / "experiments").mkdir(parents=True)
        (ctx.out / "experiments" / "toy_a.json").write_text(json.dumps({"params": {}}))   # finished: not planned
        pool = Recorder()
        train_all(["toy_a", "toy_b"], ctx, pool)
        assert [t.train.depth for t in pool.seen[0]] == [3, 2]
    finally:
        for e in exps:
            unregister_experiment(e.name)


def test_cost_section_reads_timing_and_experiment_results(tmp_path):
    """The report's cost table: per experiment its pooled runs and worker-seconds from timing.json, its own step
    from its result, "left out by the preset" for a skipped one; nothing without a timing file."""
    from nets.report import cost_lines
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "depth.json").write_text(json.dumps({"seconds": 20.2}))
    (tmp_path / "experiments" / "resnet.json").write_text(json.dumps({"skipped": "why"}))
    timing = {"seconds": 883.4, "experiments": ["depth", "resnet"],
              "training": {"seconds": 705.5, "per_experiment": {"depth": {"tasks": 60, "worker_seconds": 988.8}}}}
    text = "\n".join(cost_lines(tmp_path, timing))
    assert "883 s (14.7 min)" in text and "training pool (every experiment's runs, longest first): 706 s" in text
    assert "| depth | 60 | 989 | 20.2 |" in text and "| resnet | 0 | 0 | left out by the preset |" in text
    assert "| decay |" not in text and cost_lines(tmp_path, None) == []


def test_eta_from_the_cost_model():
    """The sweep's ETA weighs tasks by their cost (longest first): after the costliest of four tasks (cost 8 of
    8 + 1 + 1 + 1) took 80 s, the rest is 30 s, not the 240 s a task count would give."""
    from nets.experiments.sweep import eta_seconds
    assert eta_seconds(80.0, 8.0, 3.0) == pytest.approx(30.0)
    assert eta_seconds(5.0, 0.0, 3.0) is None and eta_seconds(5.0, 1.0, -1.0) == 0.0


def test_spectral_swap_rule():
    """Against the untrained twin, on the kept frequencies: above it -> supported, at it -> inconclusive, below ->
    not supported; a flat tau -> not applicable, whatever the Spearman values."""
    from nets.experiments.spectra import verdicts
    rows = lambda d, vals, cv=2.0: [{"data": d, "spearman_kept": v, "tau_cv": cv, "learned": True} for v in vals]  # noqa: E731
    twins = [{"data": d, "spearman_kept": 0.1} for d in ("a", "b", "c", "w")]
    out = verdicts(rows("a", [0.5, 0.55, 0.6]) + rows("b", [0.05, 0.15, 0.1]) + rows("c", [-0.3, -0.2, -0.25])
                   + rows("w", [0.5, 0.55, 0.6], cv=0.03), ["a", "b", "c", "w"], twins)
    assert [out[k]["verdict"] for k in "abcw"] == ["supported", "inconclusive", "not supported", "not applicable"]
    assert out["a"]["difference"] == pytest.approx(0.45) and out["a"]["twin"] == 0.1
