"""theory.schatten: Schatten (quasi)norms (eq. 4.7), balanced factorization (eq. B.17), penalty (eq. B.14)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import EXACT, rel_err
from strategies import complex_matrices, depths, exponents, seeds
from theory import dft
from theory.schatten import (balanced_factorization, conjugate_symmetric_factorization, factorization_penalty,
                             product, schatten_norm, schatten_power, singular_values)
from theory.tolerances import LOWER_BOUND_SLACK


@given(complex_matrices(), exponents)
def test_norm_matches_definition(A, p):
    """|A|_p = (sum_i s_i^p)^(1/p) with s from numpy.linalg.svd, batched, for p < 1 too (eq. 4.7)."""
    s = np.linalg.svd(A, compute_uv=False)
    s = np.where(s > max(A.shape[-2:]) * np.finfo(float).eps * s[..., :1], s, 0)
    assert rel_err(schatten_norm(A, p), np.sum(s ** p, -1) ** (1 / p)) < 1e-9
    assert rel_err(schatten_power(A, p), np.sum(s ** p, -1)) < 1e-9
    assert rel_err(schatten_norm(A, np.inf), s[..., 0]) < EXACT


@given(complex_matrices())
def test_special_cases(A):
    """p = 2 is the Frobenius norm; p = 1 the nuclear norm; the batch axis is kept."""
    assert rel_err(schatten_norm(A, 2), np.linalg.norm(A, axis=(-2, -1))) < EXACT
    assert rel_err(schatten_norm(A, 1), np.linalg.norm(A, ord="nuc", axis=(-2, -1))) < 1e-12
    assert schatten_norm(A, 0.5).shape == A.shape[:-2]


@given(complex_matrices(), exponents, seeds)
def test_unitary_invariance(A, p, seed):
    """|U A V|_p = |A|_p for unitary U, V."""
    rng = np.random.default_rng(seed)
    m, n = A.shape[-2:]
    U = np.linalg.qr(rng.standard_normal((m, m)) + 1j * rng.standard_normal((m, m)))[0]
    V = np.linalg.qr(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))[0]
    assert rel_err(schatten_norm(U @ A @ V, p), schatten_norm(A, p)) < 1e-8


def test_rank_tolerance_small_p():
    """A round-off singular value (1e-16 relative) must not count at small p: at p = 0.05,
    1e-16^0.05 = 0.16 would inflate sum s^p of a rank-1 matrix from 1 to 1.16."""
    u = np.array([[1.0], [0.0]])
    A = u @ u.T + 1e-16 * np.array([[0, 0], [0, 1.0]])
    assert schatten_power(A, 0.05) == pytest.approx(1.0, rel=1e-12)
    assert schatten_power(A, 0.05, rtol=0.0) == pytest.approx(1 + 1e-16 ** 0.05, rel=1e-12)  # without it


@given(st.floats(0.05, 0.95), st.integers(2, 5), seeds)
def test_quasi_norm_triangle_inequality_fails(p, k, seed):
    """For p < 1, |A + B|_p > |A|_p + |B|_p for orthogonal rank-one A, B: (a^p + b^p)^(1/p) > a + b."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((k, k)) + 1j * rng.standard_normal((k, k)))[0]
    a, b = rng.uniform(0.5, 2.0, size=2)
    A, B = Q @ np.diag([a] + [0] * (k - 1)), Q @ np.diag([0, b] + [0] * (k - 2))
    assert schatten_norm(A + B, p) > (schatten_norm(A, p) + schatten_norm(B, p)) * (1 + 1e-6)


@given(complex_matrices(), depths)
def test_balanced_factorization_attains_the_value(B, L):
    """eq. B.17: the factors compose to B and (1/L) sum |A_l|^2 = |B|_{2/L}^{2/L} (eq. B.16), batched."""
    F = balanced_factorization(B, L)
    assert len(F) == L
    assert rel_err(product(F), B) < 1e-9
    assert rel_err(factorization_penalty(F), schatten_power(B, 2 / L)) < 1e-9


@given(complex_matrices(batch=False), depths, seeds)
def test_random_feasible_factorizations_never_below(B, L, seed):
    """Lemma B.13 lower bound (eq. B.15): random feasible factorizations (random invertible gauges
    G_l inserted between the balanced factors, and random wider inner widths) stay >= |B|_{2/L}^{2/L}."""
    rng = np.random.default_rng(seed)
    r = int(np.count_nonzero(singular_values(B)))
    widths = [r + int(rng.integers(0, 3)) for _ in range(L - 1)]
    F = balanced_factorization(B, L, widths=widths)
    for l in range(L - 1):
        w = F[l].shape[0]
        g = np.eye(w) + rng.standard_normal((w, w)) + 1j * rng.standard_normal((w, w))
        F[l], F[l + 1] = g @ F[l], F[l + 1] @ np.linalg.inv(g)
    assert rel_err(product(F), B) < 1e-6
    assert factorization_penalty(F) >= schatten_power(B, 2 / L) * (1 - LOWER_BOUND_SLACK)


@given(complex_matrices(batch=False, max_dim=4), st.integers(2, 4))
def test_widths_at_rank_suffice(B, L):
    """Inner widths equal to rank(B) suffice; one below raises ValueError naming widths."""
    r = int(np.count_nonzero(singular_values(B)))
    F = balanced_factorization(B, L, widths=[r] * (L - 1))
    assert rel_err(product(F), B) < 1e-9
    if r > 1:
        with pytest.raises(ValueError, match="widths"):
            balanced_factorization(B, L, widths=[r - 1] * (L - 1))


@given(seeds, st.integers(1, 5), st.integers(1, 5), st.integers(2, 5))
def test_conjugate_symmetric_factorization_gives_real_factors(seed, H, W, L):
    """For the blocks of a real filter, every factor is conjugate-symmetric (the DFT of a real array),
    composes to B, and attains the balanced value at every frequency, DC and Nyquist included."""
    rng = np.random.default_rng(seed)
    K, C = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    B = dft.to_blocks(dft.dft2(rng.standard_normal((K, C, H, W))))
    F = conjugate_symmetric_factorization(B, L)
    I, J = dft.conjugate_indices(H, W)
    for A in F:
        assert rel_err(A[I, J], A.conj()) < 1e-12
    assert rel_err(product(F), B) < 1e-9
    assert rel_err(factorization_penalty(F), schatten_power(B, 2 / L)) < 1e-9


@pytest.mark.parametrize("call, match", [
    (lambda: schatten_norm(np.eye(2), 0), "p: expected a real number > 0"),
    (lambda: schatten_norm(np.eye(2), -1.5), "p: expected a real number > 0"),
    (lambda: schatten_norm(np.eye(2), float("nan")), "p: expected"),
    (lambda: schatten_power(np.eye(2), np.inf), "p: expected a finite"),
    (lambda: schatten_norm(np.ones(3), 1), "A: expected at least 2 dimensions"),
    (lambda: schatten_norm(np.full((2, 2), np.inf), 1), "A: expected finite"),
    (lambda: balanced_factorization(np.eye(2), 0), "L: expected an integer >= 1"),
    (lambda: balanced_factorization(np.eye(2), 2.5), "L: expected an integer"),
    (lambda: balanced_factorization(np.eye(3), 3, widths=[2, 3]), "widths: every inner width must be >= rank"),
    (lambda: balanced_factorization(np.eye(3), 3, widths=[3]), "widths: expected L - 1 = 2"),
    (lambda: product([np.ones((2, 3)), np.ones((2, 3))]), "columns to compose"),
    (lambda: conjugate_symmetric_factorization(np.ones((3, 3, 1, 1)) * 1j, 2), "conjugate-symmetric"),
])
def test_bad_input(call, match):
    """Non-positive p, L < 1, inner width < rank, non-finite entries, mismatched shapes: ValueError."""
    with pytest.raises(ValueError, match=match):
        call()
