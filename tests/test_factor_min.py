"""theory.factor_min: Lemma B.13 for general L by constrained minimization over factorizations."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import complex_matrices, seeds
from theory.factor_min import minimize_factorization
from theory.schatten import product, schatten_power
from theory.tolerances import OPTIMIZER


@settings(max_examples=12)
@given(complex_matrices(batch=False, max_dim=4), st.integers(2, 6), seeds)
def test_minimum_is_reached_and_never_beaten(B, L, seed):
    """eq. B.14, any L: from random starts (rank-deficient and rectangular B included) every end point
    is feasible, none goes below |B|_{2/L}^{2/L}, and the best reaches it."""
    res = minimize_factorization(B, L, starts=3, seed=seed)
    assert np.all(res.residuals < 1e-9)
    assert np.min(res.relative_gaps) > -OPTIMIZER
    assert abs(res.best - res.target) <= OPTIMIZER * res.target
    assert np.linalg.norm(product(res.best_factors) - B) <= 1e-8 * np.linalg.norm(B)
    assert res.target == pytest.approx(float(schatten_power(B, 2 / L)))


def test_wider_inner_widths(rng):
    """Inner widths above rank(B) give the same minimum (extra width cannot help)."""
    B = (rng.standard_normal((3, 1)) + 1j) @ (rng.standard_normal((1, 4)) - 1j)  # rank 1
    narrow = minimize_factorization(B, 3, widths=[1, 1], starts=2)
    wide = minimize_factorization(B, 3, widths=[4, 2], starts=2)
    assert narrow.best == pytest.approx(narrow.target, rel=OPTIMIZER)
    assert wide.best == pytest.approx(narrow.target, rel=OPTIMIZER)


@pytest.mark.parametrize("kwargs, match", [
    (dict(B=np.eye(2), L=1), "L: expected an integer >= 2"),
    (dict(B=np.zeros((2, 2)), L=2), "B: expected a nonzero matrix"),
    (dict(B=np.eye(3), L=3, widths=[2, 3]), "widths: every inner width must be >= rank"),
    (dict(B=np.eye(2), L=3, widths=[2]), "widths: expected L - 1 = 2"),
    (dict(B=np.full((2, 2), np.nan), L=2), "B: expected finite"),
    (dict(B=np.eye(2), L=2, starts=0), "starts: expected an integer >= 1"),
])
def test_bad_input(kwargs, match):
    """L < 2, B = 0, widths below rank, NaN entries, no starts: ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        minimize_factorization(**kwargs)
