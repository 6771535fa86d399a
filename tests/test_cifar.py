"""The CIFAR-10 experiments' pieces: the reader on the real batches (when a copy is present), the released
code's conventions (radial moment, high-pass gain), the data-versus-architecture control, the measured
checkpoint, the accuracy floor and the model widths."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from nets.experiments.trends import learning_gate, slope_difference, trend_table
from nets.measures import released_moment, released_radial_curve

ROOT = Path(__file__).resolve().parents[1]


def _cifar_root() -> Path | None:
    for c in (os.environ.get("FREQSENS_DATA"), ROOT.parent / "shared" / "data" / "cifar10"):
        if c and (Path(c) / "cifar-10-batches-py" / "data_batch_1").exists():
            return Path(c)
    return None


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path / "cache"))


def test_cifar_reader_on_the_real_batches():
    """50,000 + 10,000 uint8 images, 5,000 / 1,000 per class, and the published training-set channel means
    and stds (0-255: 125.307, 122.950, 113.865 / 62.993, 62.089, 66.705) over train + validation."""
    root = _cifar_root()
    if root is None:
        pytest.skip(f"CIFAR-10 not found (FREQSENS_DATA unset, no {ROOT.parent / 'shared/data/cifar10'}): the "
                    "real-batch checks were skipped")
    from nets.data import cifar10
    d = cifar10(root)
    x = np.concatenate([d.x_train, d.x_val])
    y = np.concatenate([d.y_train, d.y_val])
    assert x.dtype == np.uint8 and x.shape == (50000, 3, 32, 32) and d.x_test.shape == (10000, 3, 32, 32)
    assert np.array_equal(np.bincount(y, minlength=10), [5000] * 10)
    assert np.array_equal(np.bincount(d.y_test, minlength=10), [1000] * 10)
    assert len(d.y_val) == 5000 and not set(map(bytes, d.x_val[:50])) & set(map(bytes, d.x_train[:2000]))
    xf = x.astype(np.float64)
    assert np.allclose(xf.mean(axis=(0, 2, 3)), [125.307, 122.950, 113.865], atol=2e-3)
    assert np.allclose(xf.std(axis=(0, 2, 3)), [62.993, 62.089, 66.705], atol=2e-3)


# ---- the released code's conventions --------------------------------------------------------------

def _released_curve_by_loop(S):
    """DESIGN.md's reading of ``radial_pushforward``, one pixel at a time (the grid's floats are linspace's:
    their rounding is what makes 177 bins of 109 true radii)."""
    C, H, W = S.shape
    sh = np.fft.fftshift(S, axes=(-2, -1))
    xs, ys = np.linspace(-H / 2, H / 2, H).tolist(), np.linspace(-W / 2, W / 2, W).tolist()
    sums, counts = {}, {}
    for a in range(H):
        for b in range(W):
            r = float(np.sqrt(xs[a] ** 2 + ys[b] ** 2))
            sums[r] = sums.get(r, 0.0) + sum(sh[c, a, b] for c in range(C))
            counts[r] = counts.get(r, 0) + 1
    r = np.array(sorted(sums))
    return r, np.array([sums[k] / counts[k] for k in r])


@pytest.mark.parametrize("shape", [(3, 32, 32), (2, 7, 6)])
def test_released_radial_curve_and_moment_match_a_pixel_loop(shape):
    S = np.random.default_rng(1).random(shape)
    r, q = released_radial_curve(S)
    r0, q0 = _released_curve_by_loop(S)
    assert np.allclose(r, r0, rtol=0, atol=1e-12) and np.allclose(q, q0, rtol=1e-12)
    assert released_moment(S) == pytest.approx((r0 * q0).sum() / q0.sum(), rel=1e-12)


def test_released_radial_grid_as_described():
    """177 float bins at 32 x 32 (109 distinct true radii); DC at r ~ 0.73 with three neighbours; channels
    summed (a flat 3-channel map gives 3 in every bin)."""
    r, q = released_radial_curve(np.ones((3, 32, 32)))
    assert len(r) == 177 and np.allclose(q, 3.0)
    assert r[0] == pytest.approx(np.sqrt(2) * 16 / 31)
    dc = np.zeros((1, 32, 32))
    dc[0, 0, 0] = 4.0
    r, q = released_radial_curve(dc)
    assert q[0] == pytest.approx(1.0)    # DC shares its bin with (-1, 0), (0, -1), (-1, -1)


def test_released_high_pass_gain_equals_the_published_procedure():
    """fftshift, zero the block [c - k, c + k) on both axes, inverse FFT, real part == idft2(gain x_hat)
    with gain 0 inside, 0.5 on the ring (62 frequencies at 32 x 32, ratio 0.5), 1 outside."""
    from nets.data.filters import filter_gain
    from theory.dft import dft2, idft2
    x = np.random.default_rng(2).standard_normal((4, 3, 32, 32))
    X = np.fft.fftshift(np.fft.fft2(x, norm="ortho"), axes=(-2, -1))
    c, k = 16, int(0.5 * 32 / 2)
    X[..., c - k:c + k, c - k:c + k] = 0
    published = np.fft.ifft2(np.fft.ifftshift(X, axes=(-2, -1)), norm="ortho").real
    g = filter_gain("highpass_released:0.5", (3, 32, 32))
    assert np.allclose(idft2(dft2(x) * g).real, published, atol=1e-12)
    vals, counts = np.unique(g[0], return_counts=True)
    assert vals.tolist() == [0.0, 0.5, 1.0] and counts.tolist() == [225, 62, 737]


# ---- data versus architecture ---------------------------------------------------------------------

def _rows(slope_nat, slope_white, noise=0.05, seeds=3):
    rng = np.random.default_rng(0)
    return [{"data": v, "depth": d, "seed": s, "learned": True, "model": "convactually",
             **{k: 1.0 for k in ("moment1", "moment2", "moment2_nodc", "midband_slope", "spearman_tau", "moment1_released")},
             "moment1_nodc": 10 + sl * d + noise * rng.standard_normal()}
            for v, sl in (("natural", slope_nat), ("whitened", slope_white)) for d in range(1, 6) for s in range(seeds)]


@pytest.mark.parametrize("nat, white, verdict", [(-1.0, 0.0, "inherited"), (-1.0, -1.0, "architectural"),
                                                 (-1.0, -0.4, "partly inherited"), (0.0, 0.0, "inconclusive")])
def test_architecture_control_planted(nat, white, verdict):
    from nets.experiments.depth import control
    rows = _rows(nat, white)
    c = control(rows, trend_table(rows, "depth", "data"))
    assert c["verdict"] == verdict, c
    assert c["difference"] == pytest.approx(nat - white, abs=0.1)


def test_slope_difference_t_interval_is_centred_on_the_separate_fits():
    """The interaction coefficient of the pooled fit equals the difference of the two groups' own least-squares
    slopes (same x in both), and its interval covers the planted difference."""
    rng = np.random.default_rng(3)
    xs = [1, 2, 3, 4, 5]
    a = [list(10 - 1.0 * x + 0.1 * rng.standard_normal(3)) for x in xs]
    b = [list(4 - 0.25 * x + 0.1 * rng.standard_normal(3)) for x in xs]
    d = slope_difference(xs, a, b)
    X = np.repeat(xs, 3)
    own = np.polyfit(X, np.concatenate(a), 1)[0] - np.polyfit(X, np.concatenate(b), 1)[0]
    assert np.mean(d["t_ci"]) == pytest.approx(own, abs=1e-10)
    assert d["t_ci"][0] < -0.75 < d["t_ci"][1] and d["ci"][0] < -0.75 < d["ci"][1]


def test_gate_floor():
    assert learning_gate(0.45, 0.1, [7.0, 7.01], 0.5, floor=0.4)[0]
    ok, why = learning_gate(0.35, 0.1, [7.0, 7.01], 0.5, floor=0.4)
    assert not ok and "floor" in why


# ---- the measured checkpoint ------------------------------------------------------------------------

@pytest.mark.parametrize("rule", ["last", "best"])
def test_measured_checkpoint_is_the_one_reported_and_loaded(tmp_path, rule):
    """With checkpoint="last" the result's accuracy, the loaded model (what the maps are computed on) and
    last.pt agree; with "best" they are best.pt's."""
    from nets.measuring import load_trained
    from nets.runs import TrainConfig, load_checkpoint
    from nets.training import _tensors, evaluate, load_data, train
    cfg = TrainConfig(model="convactually", depth=2, width=2, dataset="synthetic:grf?n_train=120&n_val=40&n_test=40&H=8&W=8",
                      max_epochs=3, lr=3e-2, batch_size=32, optimizer="adam", checkpoint=rule, out=str(tmp_path / rule),
                      lr_drops=[2], threads=1)
    res = train(cfg, load_data(cfg), progress=False)
    model, _, data = load_trained(tmp_path / rule)
    saved = load_checkpoint(tmp_path / rule / ("last.pt" if rule == "last" else "best.pt"))["model"]
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())
    assert res["checkpoint"] == rule and res["measured_epoch"] == (2 if rule == "last" else res["best_epoch"])
    x, y = _tensors(data, "test", None, "cpu")
    assert evaluate(model, x, y)[1] == pytest.approx(res["test_acc"])


def test_checkpoint_rule_keeps_old_run_keys():
    """``checkpoint`` enters a run's identity only when it is not the default (old folders keep their keys)."""
    from nets.runs import TrainConfig
    assert "checkpoint" not in TrainConfig().identity() and TrainConfig(checkpoint="last").identity()["checkpoint"] == "last"


# ---- widths -----------------------------------------------------------------------------------------

def test_widths_are_honoured_and_unused_options_refused():
    from nets.models import build_model, count_parameters
    assert count_parameters(build_model("myrtle")) == 1_556_106
    assert count_parameters(build_model("resnet20")) == 272_474 == count_parameters(build_model("resnet20", width=16))
    for name in ("myrtle", "resnet20", "resnet9"):
        sizes = [count_parameters(build_model(name, width=w)) for w in (8, 16, 32)]
        assert sizes[0] < sizes[1] < sizes[2], (name, sizes)
    with pytest.raises(ValueError, match="does not take a depth"):
        build_model("myrtle", depth=3)
    with pytest.raises(ValueError, match="does not take a depth"):
        build_model("resnet20", depth=5)


# ---- the conventional CNNs' presets and controls (issue 33) ---------------------------------------------

def test_augment_against_an_explicit_loop():
    """Flip then translate with zero padding, per image, from the same generator draws."""
    from nets.training import augment
    x = torch.randn(5, 3, 6, 7)
    out = augment(x, torch.Generator().manual_seed(4), shift=2)
    g = torch.Generator().manual_seed(4)
    flip = torch.rand(5, generator=g) < 0.5
    di, dj = (torch.randint(0, 5, (5,), generator=g) for _ in range(2))
    for n in range(5):
        img = x[n].flip(2) if flip[n] else x[n]
        pad = torch.zeros(3, 6 + 4, 7 + 4)
        pad[:, 2:8, 2:9] = img
        assert torch.equal(out[n], pad[:, di[n]:di[n] + 6, dj[n]:dj[n] + 7]), n
    assert flip.any() and not flip.all()


@pytest.mark.parametrize("name", ["resnet14-noskip", "resnet14-nobn"])
def test_resnet_controls(name):
    """-noskip: no shortcut anywhere (BatchNorm kept); -nobn: no BatchNorm anywhere, and with Fixup's zero
    branch ends every block starts as relu(shortcut(x))."""
    from torch import nn

    from nets.models import build_model
    from nets.models.resnet import BasicBlock
    m = build_model(name, width=4)
    blocks = [b for b in m.modules() if isinstance(b, BasicBlock)]
    assert len(blocks) == 6
    bns = [b for b in m.modules() if isinstance(b, nn.BatchNorm2d)]
    if name.endswith("noskip"):
        assert all(b.shortcut is None for b in blocks) and bns
    else:
        assert not bns and all(b.shortcut is not None for b in blocks)
        x = torch.randn(2, 4, 8, 8)
        first = blocks[0]
        assert torch.equal(first(x), torch.relu(x))
        assert torch.count_nonzero(m(torch.randn(2, 3, 8, 8))) == 0     # classifier zero at init


def _entry(verdict, ci):
    t = {"verdict": verdict, "slope_ci": list(ci), "slope_t_ci": list(ci)}
    return {"moment1_nodc": t, "robust": {"verdict": verdict, "previous": dict(t)}}


@pytest.mark.parametrize("full, noskip, nobn, want", [
    (("supported", (-1, -.5)), ("supported", (-1, -.5)), ("supported", (-1, -.5)), "no exception to explain (r holds)"),
    (("not supported", (.5, 1)), ("supported", (-1, -.5)), ("not supported", (.5, 1)), "skips"),
    (("inconclusive", (-.1, .1)), ("inconclusive", (-.2, .2)), ("supported", (-1, -.5)), "BatchNorm"),
    (("inconclusive", (-.1, .1)), ("supported", (-1, -.5)), ("supported", (-1, -.5)), "both (either removal restores it)"),
    (("inconclusive", (-.1, .6)), ("supported", (-1, -.5)), ("supported", (-1, -.5)), "inconclusive"),
    (("not settled", (-1, -.5)), ("supported", (-1, -.5)), ("supported", (-1, -.5)), "inconclusive"),
    (("not supported", (.5, 1)), ("not supported", (.5, 1)), ("inconclusive", (-.1, .1)),
     "inconclusive (neither removal alone restores it)"),
])
def test_skip_or_batchnorm_cause(full, noskip, nobn, want):
    from nets.experiments.resnet import cause
    c = cause({"r": _entry(*full), "r-noskip": _entry(*noskip), "r-nobn": _entry(*nobn)})
    assert c["verdict"] == want
    assert cause({"r": _entry(*full)}) is None


@pytest.mark.parametrize("preset, experiment, n_tasks", [("cifar-myrtle", "decay", 12), ("cifar-resnet", "resnet", 45)])
def test_cnn_presets_plan(tmp_path, preset, experiment, n_tasks):
    """The focused presets: every other experiment skips; the planned tasks track the map over the last 3
    epochs on the map's own images, measure the last model, and have >= 3 seeds, >= 4 decays incl. 1e-2 over
    >= 2 decades (3e-2 did not reach the floor for either family, see the presets); MyrtleCNN's tracked
    epochs all run at the final rate."""
    from nets.experiments import get_experiment
    from nets.experiments.registry import experiment_names, params
    from nets.experiments.sweep import Context
    ctx = Context("cifar10", preset, 3, tmp_path, image_shape=(3, 32, 32))
    for name in experiment_names():
        p = params(get_experiment(name), preset)
        assert ("skip" in p) == (name != experiment), name
    exp = get_experiment(experiment)
    tasks = exp.training(ctx, params(exp, preset))
    trained = [t for t in tasks if t.train.max_epochs > 0]
    assert len(trained) == n_tasks
    decays = {t.train.weight_decay for t in trained if t.tags.get("sweep", "decay") == "decay"}
    assert 1e-2 in decays and len(decays) >= 4 and max(decays) / min(decays) >= 100
    if preset == "cifar-myrtle":
        assert all(max(t.train.lr_drops) <= t.train.max_epochs - t.train.track_epochs for t in trained)
    assert all(t.train.track_epochs == 3 and t.train.track_images == t.sens_images and t.train.checkpoint == "last"
               for t in trained)
    assert min(sum(1 for u in trained if u.tags == {**t.tags, "seed": u.tags["seed"]}) for t in trained) >= 3
