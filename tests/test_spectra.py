"""theory.spectra: tau, the streamed covariance, distances (eq. C.2), radial averages, power-law fits."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import rel_err
from strategies import seeds
from theory import reference as ref
from theory.spectra import (FourierStats, covariance_by_distance, fit_power_law, fourier_stats, grid_distance,
                            off_diagonal_energy, off_frequency_noise_floor, radial_average, radius_squared, tau)


def dense_covariance(x):
    """Reference: per-image DFT by dense matrix, Hermitian covariance by explicit mean and outer products."""
    xh = ref.dft2_dense(x).reshape(len(x), -1)
    c = xh - xh.mean(axis=0)
    return sum(np.outer(ci, ci.conj()) for ci in c) / len(x)


@given(seeds, st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.lists(st.integers(1, 9), min_size=1, max_size=4))
def test_streamed_stats_equal_dense_reference(seed, C, H, W, splits):
    """tau and the full covariance accumulated over arbitrary batch splits equal the dense one-shot
    reference exactly (Chan's update is exact; Fig. 1c diagonal = tau)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((sum(splits) + 1, C, H, W)) * rng.uniform(0.1, 10) + rng.standard_normal()
    parts = np.split(x, np.cumsum(splits))
    stats = fourier_stats(parts, covariance=True)
    S = dense_covariance(x)
    assert rel_err(stats.fourier_covariance(), S) < 1e-9
    assert rel_err(stats.tau.ravel(), np.diag(S).real) < 1e-9
    assert rel_err(tau(x), stats.tau) < 1e-9


def test_gaussian_field_covariance_matches_its_spectrum():
    """Fields with tau = 1/|k|^2 (nets.data.synthetic) have that tau within 5 standard errors at every
    frequency, and almost no covariance between different frequencies."""
    from nets.data.synthetic import gaussian_field
    N, C = 3000, 2
    x = gaussian_field(N, C, 8, 8, alpha=2.0, rng=0).astype(np.float64)
    r2 = radius_squared(8, 8).astype(float)
    r2[0, 0] = 1
    ratio = tau(x) / (1 / r2)
    assert np.max(np.abs(ratio - 1)) < 5 * np.sqrt(2 / N)   # |x_hat|^2 ~ exponential (chi2_1 at real k)
    S = FourierStats(covariance=True).update(x).fourier_covariance()
    measured, floor = off_diagonal_energy(S, (C, 8, 8)), off_frequency_noise_floor(tau(x), N)
    assert measured < 2 * floor and floor < 0.05   # diagonal up to sampling noise
    fit = fit_power_law(tau(x))
    assert fit.alpha_radial == pytest.approx(2.0, abs=0.05)


def test_grid_distances_by_hand():
    """Plain |i - i'| vs torus min(|i-i'| mod n, n - ...) (eq. C.2) on n = 5."""
    DI, _ = grid_distance(5, 1, torus=False)
    TI, _ = grid_distance(5, 1, torus=True)
    assert DI[0].tolist() == [0, 1, 2, 3, 4]
    assert TI[0].tolist() == [0, 1, 2, 2, 1]
    assert TI[3].tolist() == [2, 2, 1, 0, 1]


def test_covariance_by_distance_by_hand():
    """C = 1, H = 1, W = 3: plain distances {0: 3 pairs, 1: 4, 2: 2}; torus {0: 3, 1: 6}."""
    Sigma = np.array([[1.0, 2, 3], [2, 1, 4], [3, 4, 1]])
    r, m, c = covariance_by_distance(Sigma, (1, 1, 3))
    assert r.tolist() == [0, 1, 2] and c.tolist() == [3, 4, 2]
    assert m.tolist() == [1, (2 + 2 + 4 + 4) / 4, 3]
    r, m, c = covariance_by_distance(Sigma, (1, 1, 3), torus=True)
    assert r.tolist() == [0, 1] and c.tolist() == [3, 6] and m[1] == pytest.approx(18 / 6)
    r, m, c = covariance_by_distance(np.ones((8, 8)), (2, 2, 2))  # channel distance counts too
    assert r[-1] == pytest.approx(np.sqrt(3)) and c.sum() == 64


def test_radial_average_exact_radii():
    """DC sits at r = 0 alone; equal radii pool exactly ((+-1, 0), (0, +-1) at r = 1); one bin per
    distinct ki^2 + kj^2 of the signed grid."""
    a = np.zeros((4, 4))
    a[0, 0] = 5
    a[1, 0] = a[3, 0] = a[0, 1] = a[0, 3] = 2
    r, p = radial_average(a)
    assert r[0] == 0 and p[0] == 5 and r[1] == 1 and p[1] == 2
    assert len(r) == len(np.unique(radius_squared(4, 4)))
    r32, _ = radial_average(np.ones((3, 32, 32)))
    assert len(r32) == len(np.unique(radius_squared(32, 32))) and r32[-1] == pytest.approx(16 * np.sqrt(2))


@given(st.floats(0.5, 3.5), st.floats(0.5, 3.5), st.floats(0.1, 10))
def test_power_law_fit_recovers_planted_exponents(alpha, beta, gamma):
    """Noise-free tau = gamma / (|i|^alpha + |j|^beta): the separable fit recovers alpha, beta, gamma."""
    from theory.dft import signed_frequencies
    i = np.abs(signed_frequencies(16))[:, None].astype(float)
    j = np.abs(signed_frequencies(16))[None, :].astype(float)
    with np.errstate(divide="ignore"):
        t = gamma / (i ** alpha + j ** beta)
    t[0, 0] = 1.0
    fit = fit_power_law(t)
    assert fit.alpha == pytest.approx(alpha, rel=1e-4) and fit.beta == pytest.approx(beta, rel=1e-4)
    assert fit.gamma == pytest.approx(gamma, rel=1e-4)


@pytest.mark.parametrize("call, match", [
    (lambda: FourierStats().update(np.ones((2, 3, 4))), "batch: expected 4 dimensions"),
    (lambda: FourierStats().update(np.full((2, 1, 2, 2), np.nan)), "batch: expected finite"),
    (lambda: FourierStats().update(np.ones((2, 1, 2, 2)) * 1j), "complex"),
    (lambda: FourierStats().update(np.ones((2, 1, 2, 2))).update(np.ones((2, 1, 3, 2))), "expected images of shape"),
    (lambda: FourierStats().tau, "no images seen"),
    (lambda: FourierStats().update(np.ones((2, 1, 2, 2))).fourier_covariance(), "covariance=True"),
    (lambda: covariance_by_distance(np.eye(3), (1, 2, 2)), "Sigma: expected shape"),
    (lambda: fit_power_law(-np.ones((4, 4))), "non-negative"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
