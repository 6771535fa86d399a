"""nets.data (embedded, synthetic, filters, cifar10): offline, deterministic, disjoint datasets; CIFAR reader; filters."""
import pickle
import socket
import subprocess
import sys

import numpy as np
import pytest

from nets import data as D
from nets.data.embedded import PHOTOS, embedded, load_photo
from nets.data.filters import apply_filter, filter_gain, parse_filter
from nets.data.synthetic import (dead_leaves, gaussian_field, synthetic,
                            teacher_labels)
from theory.dft import dft2
from theory.spectra import radial_average, tau

SMALL = dict(n_train=200, n_val=50, n_test=100)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network access attempted in an offline test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_photo_loads_offline(no_network):
    """All ten photographs load with the network blocked, as RGB uint8 large enough for the tiles."""
    for name in PHOTOS:
        img = load_photo(name)
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 and min(img.shape[:2]) >= 288, name


def test_embedded_is_deterministic_and_balanced(no_network):
    """Same seed, same arrays (built twice without cache); different seed, different patches; 10 balanced classes."""
    a = embedded(**SMALL, seed=3, use_cache=False)
    b = embedded(**SMALL, seed=3, use_cache=False)
    c = embedded(**SMALL, seed=4, use_cache=False)
    for s in ("train", "val", "test"):
        assert np.array_equal(a.split(s)[0], b.split(s)[0]) and np.array_equal(a.split(s)[1], b.split(s)[1])
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.shape == (200, 3, 32, 32) and a.x_train.dtype == np.uint8
    assert np.bincount(a.y_train).tolist() == [20] * 10 and np.bincount(a.y_test).tolist() == [10] * 10


def test_embedded_splits_are_disjoint():
    """No test patch shares a pixel with any train or validation patch of the same photograph."""
    d = embedded(n_train=1000, n_val=200, n_test=300, use_cache=False)
    p = 32
    for a_name, b_name in (("test", "train"), ("test", "val"), ("val", "train")):
        A, B = d.meta[f"pos_{a_name}"], d.meta[f"pos_{b_name}"]
        same = A[:, None, 0] == B[None, :, 0]
        overlap = (np.abs(A[:, None, 1] - B[None, :, 1]) < p) & (np.abs(A[:, None, 2] - B[None, :, 2]) < p)
        assert not np.any(same & overlap), (a_name, b_name)
    # and the patches really are the photo's pixels at those positions
    img = load_photo(PHOTOS[d.y_test[0]])
    _, y, x = d.meta["pos_test"][0]
    assert np.array_equal(d.x_test[0], np.moveaxis(img[y:y + p, x:x + p], -1, 0))


def test_cache_round_trip():
    """A second load comes from the cache and is identical, positions included."""
    a = D.load_dataset("embedded?n_train=100&n_val=20&n_test=30")
    files = list(D.cache_dir().glob("embedded-*.npz"))
    assert len(files) == 1
    b = D.load_dataset("embedded?n_train=100&n_val=20&n_test=30")
    assert np.array_equal(a.x_val, b.x_val) and np.array_equal(a.meta["pos_val"], b.meta["pos_val"])
    assert np.allclose(a.mean, b.mean)


def test_normalisation_from_training_split_only():
    """mean/std are the training split's (appendix C.1): normalised train has per-channel mean 0, std 1;
    evaluation splits are normalised with the training numbers, never their own."""
    d = embedded(**SMALL, use_cache=False)
    xt = d.normalised("train").astype(np.float64)
    assert np.allclose(xt.mean(axis=(0, 2, 3)), 0, atol=1e-5) and np.allclose(xt.std(axis=(0, 2, 3)), 1, atol=1e-4)
    mean_before = d.mean.copy()
    d.x_test[:] = 255
    assert np.array_equal(d.mean, mean_before)
    assert np.allclose(d.normalised("test")[:, 0], (1 - d.mean[0]) / d.std[0], atol=1e-5)


# ---- CIFAR-10 reader on tiny files in the real format ----------------------------------------

def write_tiny_cifar(root, n=4, skip=(), corrupt=()):
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        if name in skip:
            continue
        with open(d / name, "wb") as f:
            if name in corrupt:
                f.write(b"not a pickle")
            else:
                pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                             b"labels": rng.integers(0, 10, n).tolist()}, f)
    return d


def test_cifar_reader_tiny(tmp_path):
    """The reader takes the parent or the folder itself, keeps the canonical test split and carves validation."""
    d = write_tiny_cifar(tmp_path, n=10)
    data = D.cifar10(tmp_path, val_fraction=0.2)
    assert data.x_train.shape == (40, 3, 32, 32) and data.x_val.shape == (10, 3, 32, 32) and data.x_test.shape[0] == 10
    with open(d / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    assert np.array_equal(data.x_test.reshape(10, -1), raw[b"data"])
    assert D.cifar10(d).x_train.shape[0] == 45


def test_cifar_errors(tmp_path, monkeypatch):
    """Missing, partial and corrupt copies each give one DataError naming the path and how to get the data."""
    monkeypatch.delenv("FREQSENS_DATA", raising=False)
    with pytest.raises(D.DataError, match="looked in .*nowhere.*cifar-10-python.tar.gz"):
        D.cifar10()
    with pytest.raises(D.DataError, match=f"looked in {tmp_path}"):
        D.cifar10(tmp_path)
    write_tiny_cifar(tmp_path / "partial", skip=("test_batch",))
    with pytest.raises(D.DataError, match="partial: test_batch is missing"):
        D.cifar10(tmp_path / "partial")
    write_tiny_cifar(tmp_path / "bad", corrupt=("data_batch_3",))
    with pytest.raises(D.DataError, match="data_batch_3 is corrupt"):
        D.cifar10(tmp_path / "bad")
    monkeypatch.setenv("FREQSENS_DATA", str(tmp_path / "partial"))
    with pytest.raises(D.DataError, match="partial"):
        D.load_dataset("cifar10")


# ---- synthetic data and filters --------------------------------------------------------------

def test_synthetic_datasets():
    """GRF and dead-leaves datasets: shapes, deterministic teacher labels, several classes present."""
    g = synthetic("grf", n_train=300, n_val=30, n_test=60, H=8, W=8, alpha=1.0, use_cache=False)
    assert g.x_train.shape == (300, 3, 8, 8) and len(np.unique(g.y_train)) >= 5
    g2 = synthetic("grf", n_train=300, n_val=30, n_test=60, H=8, W=8, alpha=1.0, use_cache=False)
    assert np.array_equal(g.y_test, g2.y_test)
    dl = dead_leaves(20, 3, 16, 16, rng=1)
    assert dl.min() >= 0 and dl.max() <= 1 and len(np.unique(dl[0, 0])) > 3
    x = gaussian_field(10, 3, 8, 8, rng=0)
    assert np.array_equal(teacher_labels(x, 4, 1), teacher_labels(x, 4, 1))


def test_filters_exact_and_real():
    """High-pass zeroes exactly the centred box of half-width ratio*W/2 and keeps the rest; low + high = 1;
    filtered images stay real (gains symmetric in k -> -k)."""
    hp = filter_gain("highpass:0.5", (3, 32, 32))
    lp = filter_gain("lowpass:0.5", (3, 32, 32))
    assert np.array_equal(hp + lp, np.ones_like(hp))
    ki = np.abs(np.fft.fftfreq(32) * 32)
    box = np.maximum(ki[:, None], ki[None, :]) < 8
    assert np.array_equal(hp[0] == 0, box) and box.sum() == 15 * 15
    g = synthetic("grf", n_train=200, n_val=20, n_test=20, H=32, W=32, use_cache=False)
    f = apply_filter(g, "highpass:0.5")
    assert f.x_train.dtype == np.float32 and np.all(np.abs(dft2(f.x_train.astype(np.float64))[..., box]) < 1e-4)
    bp = filter_gain("bandpass:0.2,0.6", (1, 16, 16))[0]
    k = np.abs(np.fft.fftfreq(16) * 16)
    u = np.maximum(k[:, None], k[None, :]) / 8
    assert np.array_equal(bp == 1, (u >= 0.2) & (u < 0.6)) and set(np.unique(bp)) == {0.0, 1.0}


def test_whiten_and_invert_move_the_variance():
    """Whitening flattens the training tau; inversion makes high frequencies carry the most variance."""
    g = synthetic("grf", n_train=2000, n_val=20, n_test=20, H=16, W=16, alpha=2.0, use_cache=False)
    w = apply_filter(g, "whiten")
    t = tau(w.normalised("train").astype(np.float64))
    assert t.std() / t.mean() < 0.1
    inv = apply_filter(g, "invert")
    _, prof = radial_average(tau(inv.normalised("train").astype(np.float64)).mean(0))
    _, prof0 = radial_average(tau(g.normalised("train").astype(np.float64)).mean(0))
    assert prof[-1] > 10 * prof[1] and prof0[1] > 10 * prof0[-1]


@pytest.mark.parametrize("H, W", [(32, 32), (16, 12), (9, 9)])
def test_invert_gain_matches_exact_per_radius_assignment(H, W):
    """The inverted spectrum's gain against an explicit loop: every frequency (i, j) gets the radial profile
    of tau read backwards at the index of its own exact radius ki^2 + kj^2 (the searchsorted-on-floats bug
    misplaced 240 of 1,024 frequencies at 32 x 32)."""
    rng = np.random.default_rng(3)
    tau_t = rng.uniform(0.5, 2.0, (3, H, W))
    gain = filter_gain("invert", (3, H, W), tau_t)
    ki, kj = np.fft.fftfreq(H) * H, np.fft.fftfreq(W) * W
    radii = sorted({int(round(a * a + b * b)) for a in ki for b in kj})
    prof = {q: np.mean([tau_t.mean(0)[i, j] for i in range(H) for j in range(W)
                        if round(ki[i] ** 2 + kj[j] ** 2) == q]) for q in radii}
    backwards = dict(zip(radii, [prof[q] for q in radii[::-1]]))
    for i in range(H):
        for j in range(W):
            want = np.sqrt(backwards[int(round(ki[i] ** 2 + kj[j] ** 2))] / tau_t[:, i, j])
            np.testing.assert_allclose(gain[:, i, j], want, rtol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: D.load_dataset("imagenet"), "unknown name 'imagenet'"),
    (lambda: D.load_dataset("embedded?foo=1"), r"unknown option\(s\) \['foo'\]"),
    (lambda: D.load_dataset("embedded?n_train"), "key=value"),
    (lambda: parse_filter("highpass:1.5"), r"must lie in \(0, 1\)"),
    (lambda: parse_filter("highpass:0"), r"must lie in \(0, 1\)"),
    (lambda: parse_filter("sharpen"), "unknown kind"),
    (lambda: parse_filter("bandpass:0.5,0.2"), "low < high"),
    (lambda: D.normalise(np.ones((2, 3, 4)), np.zeros(3), np.ones(3)), "expected an array of images"),
    (lambda: D.normalise(np.ones((2, 3, 4, 4), dtype=np.int32), np.zeros(3), np.ones(3)), "dtype int32"),
    (lambda: D.channel_stats(np.full((2, 3, 4, 4), np.nan)), "NaN"),
    (lambda: embedded(n_train=5), "n_train: expected an integer >= 10"),
])
def test_bad_input(call, match):
    with pytest.raises(D.DataError, match=match):
        call()


def test_stats_cli(tmp_path):
    """freqsens stats writes Fig. 1 PNGs, JSON and npz; unknown datasets exit 2 with one line."""
    out = tmp_path / "s"
    env_ok = subprocess.run([sys.executable, "-m", "nets", "stats", "--dataset",
                             "synthetic:grf?n_train=300&n_val=10&n_test=10&H=8&W=8&alpha=1.5", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert env_ok.returncode == 0, env_ok.stderr
    import json
    res = json.loads((out / "stats.json").read_text())["results"]
    assert abs(res["power_law"]["alpha_radial"] - 1.5) < 0.15 and res["n_images"] == 300
    names = {p.name for p in out.iterdir()}
    assert {"fig1a_covariance_plain.png", "fig1b_covariance_torus.png", "fig1c_tau.png", "stats.json",
            "stats.npz"} <= names
    bad = subprocess.run([sys.executable, "-m", "nets", "stats", "--dataset", "nope"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "unknown name 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    cif = subprocess.run([sys.executable, "-m", "nets", "stats", "--dataset", "cifar10", "--data-root", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert cif.returncode == 2 and "CIFAR-10 not found" in cif.stderr
