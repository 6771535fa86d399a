"""theory.regression and theory.equivalence: ridge (4.15, 4.18), LASSO (A.1-A.7), nuclear norm (4.10, L=2),
Theorem 4.9 against trained linear CNNs."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import rel_err
from strategies import seeds
from theory import cvx_reference as CR, dft, regression as R
from theory.equivalence import compare, predicted_lasso_sensitivity, predicted_ridge_shrinkage, v_lambda

SOLVER_AGREEMENT = 1e-6   # fast solver vs cvxpy, relative objective (the target)


def problem(seed, N=40, C=2, H=3, W=4, K=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)) * rng.uniform(0.2, 3, size=(1, C, 1, 1))
    y = rng.standard_normal((N, K)) if K > 1 else rng.standard_normal(N)
    return x, dft.dft2(x), y


@given(seeds, st.integers(1, 3), st.floats(1e-4, 1.0))
def test_ridge_equals_dense_pixel_solve(seed, K, lam):
    """eq. 4.15: the Fourier ridge solution is the DFT of the pixel-space ridge solution (orthogonal DFT),
    by an independent dense solve; both solver paths agree."""
    x, xh, y = problem(seed, K=K)
    X = x.reshape(len(x), -1)
    Y = y.reshape(len(x), -1)
    v_pix = np.linalg.solve(X.T @ X / len(x) + lam * np.eye(X.shape[1]), X.T @ Y / len(x))
    expected = dft.dft2(v_pix.T.reshape((Y.shape[1],) + x.shape[1:]))
    assert rel_err(R.ridge(xh, y, lam), expected) < 1e-9
    assert rel_err(R.ridge(xh, y, lam, method="fourier"), expected) < 1e-9
    assert rel_err(R.ridge_pixels(x, y, lam), expected) < 1e-9   # from pixels, no DFT of the images


def test_design_matches_dense_fourier_gram():
    """G = X_hat^H X_hat / N and b = X_hat^H y / N, built by FFTs from the pixel Gram, equal the dense products."""
    _, xh, y = problem(1, K=2)
    d = R.design(xh, y)
    Xh = xh.reshape(len(xh), -1)
    assert rel_err(d.G, Xh.conj().T @ Xh / len(xh)) < 1e-12
    assert rel_err(d.b, Xh.conj().T @ y / len(xh)) < 1e-12


def diagonal_design(seed, C=1, H=3, W=4, reps=2):
    """Images whose Fourier second-moment matrix G is exactly diagonal: rows are the real orthonormal
    Fourier basis images, each {k, -k} pair with one common random scale (repeated ``reps`` times)."""
    rng = np.random.default_rng(seed)
    Q, group, _ = CR.real_fourier_basis((C, H, W))
    s = rng.uniform(0.3, 3, size=group.max() + 1)[group]
    x = np.concatenate([(Q * s).T.reshape(-1, C, H, W)] * reps)
    return dft.dft2(x), rng.standard_normal(len(x))


def test_ridge_diagonal_exact_for_diagonal_design():
    """eq. 4.18 is exact when Sigma is diagonal (eq. 4.17), and measurably off for a random design."""
    xh, y = diagonal_design(0)
    d = R.design(xh, y)
    assert np.abs(d.G - np.diag(np.diagonal(d.G))).max() < 1e-12
    _, gap = R.ridge_diagonal(xh, y, 0.3)
    assert gap < 1e-10
    _, xh2, y2 = problem(3, N=80, C=1)
    _, gap2 = R.ridge_diagonal(xh2, y2, 0.3)
    assert gap2 > 1e-3   # non-diagonal design: the approximation error is real, and reported


@settings(max_examples=15)
@given(seeds, st.integers(1, 2), st.floats(1e-3, 0.3))
def test_lasso_kkt(seed, C, lam):
    """eq. A.2/A.3 at the returned LASSO solution: gradient g = 2(G u - b) satisfies g_j = -2 lam u_j/|u_j|
    where u_j != 0 and |g_j| <= 2 lam where u_j = 0."""
    _, xh, y = problem(seed, C=C)
    d = R.design(xh, y)
    sol = R.solve_cd(d=d, lam=lam, penalty="lasso", tol=1e-13)
    u = np.conj(sol.v_hat).reshape(1, -1).T
    g = 2 * (d.G @ u - d.b)
    nz = np.abs(u) > 1e-10
    assert np.allclose(g[nz], -2 * lam * u[nz] / np.abs(u[nz]), atol=1e-7)
    assert np.all(np.abs(g[~nz]) <= 2 * lam * (1 + 1e-7))


@settings(max_examples=8)
@given(seeds, st.sampled_from(["lasso", "nuclear"]), st.integers(1, 3), st.floats(1e-3, 0.2))
def test_fast_solvers_agree_with_cvxpy(seed, penalty, K, lam):
    """Coordinate descent, FISTA and cvxpy (Clarabel) agree to 1e-6 relative objective; the fast solutions are
    conjugate-symmetric (DFTs of real predictors)."""
    _, xh, y = problem(seed, K=K)
    d = R.design(xh, y)
    ref = CR.solve_cvxpy(d=d, lam=lam, penalty=penalty)
    for sol in (R.solve_cd(d=d, lam=lam, penalty=penalty), R.solve(d=d, lam=lam, penalty=penalty)):
        assert sol.objective <= ref.objective * (1 + SOLVER_AGREEMENT)
        assert abs(sol.objective - ref.objective) <= SOLVER_AGREEMENT * abs(ref.objective)
        I, J = dft.conjugate_indices(3, 4)
        assert rel_err(sol.v_hat[..., I, J], np.conj(sol.v_hat)) < 1e-12


@settings(max_examples=5)
@given(seeds, st.sampled_from(["lasso", "nuclear"]), st.floats(1e-3, 0.2))
def test_cvxpy_real_and_complex_forms_agree(seed, penalty, lam):
    """The two cvxpy formulations (real Fourier basis with grouped 2-norms; complex variable) reach the same
    optimal value (K = 1), re-evaluated by freqsens. (Not the same minimiser: these small designs are rank-
    deficient, so the minimiser need not be unique.)"""
    _, xh, y = problem(seed, K=1)
    d = R.design(xh, y)
    a = CR.solve_cvxpy(d=d, lam=lam, penalty=penalty)
    b = CR.solve_cvxpy(d=d, lam=lam, penalty=penalty, real_form=False)
    assert abs(a.objective - b.objective) <= SOLVER_AGREEMENT * abs(b.objective)


@given(seeds, st.floats(0.05, 2.0))
def test_nuclear_prox_single_block_vs_cvxpy(seed, t):
    """The nuclear prox (singular value soft-threshold) equals cvxpy's argmin 1/2|X - Z|^2 + 2t|X|_1 on one block."""
    import cvxpy as cp
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    X = cp.Variable((3, 2), complex=True)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(X - Z) + 2 * t * cp.normNuc(X))).solve(solver=cp.CLARABEL)
    P = R.prox(Z[None], np.array([t]), "nuclear")[0]
    # absolute error on Z's scale: also decides the case where the argmin is 0 (a wrong prox is not excused)
    assert np.max(np.abs(P - X.value)) <= 1e-5 * np.abs(Z).max()
    f = lambda M: 0.5 * np.sum(np.abs(M - Z) ** 2) + 2 * t * np.linalg.svd(M, compute_uv=False).sum()  # noqa: E731
    assert f(P) <= f(X.value) + 1e-9


def test_schatten_prox_is_the_scalar_minimiser():
    """The scalar prox of t s^p (p < 1) beats a fine grid search on every input."""
    z = np.linspace(0, 3, 31)
    t, p = np.full_like(z, 0.4), 2 / 3
    s = R._prox_scalar_power(z, t, p)
    grid = np.linspace(0, 3, 30001)
    best = np.min(0.5 * (grid[None] - z[:, None]) ** 2 + 0.4 * grid[None] ** p, axis=1)
    assert np.all(0.5 * (s - z) ** 2 + 0.4 * s ** p <= best + 1e-8)


def test_soft_threshold_diagonal_is_exact_when_diagonal():
    """eq. A.6/A.7: for a diagonal design the diagonal soft-threshold rule is the LASSO solution."""
    xh, y = diagonal_design(1)
    d = R.design(xh, y)
    exact = R.solve_cd(d=d, lam=0.02, penalty="lasso", tol=1e-14).v_hat
    assert np.count_nonzero(np.abs(exact) > 1e-12) not in (0, exact.size)   # some, not all, shrunk to 0
    assert rel_err(R.soft_threshold_diagonal(d=d, lam=0.02), exact) < 1e-8


def test_predictions():
    """Prop. 4.19: tau / (lam + tau); Prop. A.8: |v_LS| - lam / tau, clipped at 0."""
    tau = np.array([0.0, 0.1, 1.0, 10.0])
    assert np.allclose(predicted_ridge_shrinkage(tau, 1.0), [0, 0.1 / 1.1, 0.5, 10 / 11])
    assert np.allclose(predicted_lasso_sensitivity(tau, 0.5, 1.0), [0, 0, 0.5, 0.95])


@pytest.mark.parametrize("channels, loss", [((2, 1), "squared"), ((2, 2), "squared"), ((2, 3, 2), "squared"),
                                            ((2, 1, 1), "squared"), ((2, 3), "cross_entropy"),
                                            ((2, 3, 3), "cross_entropy")])
def test_theorem_49_trained_linear_cnn(channels, loss):
    """Theorem 4.9 with exact constants: a trained linear CNN (L = 1, 2; squared and cross-entropy) reaches the
    convex v_hat-problem optimum with lam_v = lam (HW)^(-(L-1)/L): objective gap <= 1e-4 (goal), predictor equal,
    weights balanced; the paper's constant-free lam_v = lam gives a visibly different optimum."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((30, 2, 3, 3))
    K = channels[-1]
    y = rng.integers(0, K, 30) if loss == "cross_entropy" else rng.standard_normal((30, K))
    c = compare(x, y, channels, 0.05, loss, restarts=1)
    assert abs(c.objective_gap) < 1e-4
    assert c.v_hat_error < 1e-4
    assert c.balance_ratio == pytest.approx(1.0, abs=1e-6)
    if len(channels) > 2:
        assert abs(c.paper_form_gap) > 1e-3
    assert c.lam_v == pytest.approx(v_lambda(0.05, len(channels) - 1, 3, 3))


def test_theorem_49_depth_3_local():
    """L = 3 (non-convex): the local Schatten-2/3 solver started at the trained predictor does not improve it
    beyond round-off, and the trained weights are balanced (eq. B.17 identity at the trained point)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((30, 1, 3, 3))
    c = compare(x, rng.standard_normal(30), (1, 1, 1, 1), 0.02, "squared", restarts=2)
    assert abs(c.objective_gap) < 1e-6 and c.balance_ratio == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("call, match", [
    (lambda: R.ridge(*problem(0)[1:], lam=-1), "lam: expected a finite real number >= 0"),
    (lambda: R.ridge(*problem(0, N=5)[1:], lam=0.0), "singular"),
    (lambda: R.design(problem(0)[1], np.ones(7)), "y: expected shape"),
    (lambda: R.design(problem(0)[1] + 1j, problem(0)[2]), "DFT of real images"),
    (lambda: R.design(np.full((3, 1, 2, 2), np.nan), np.ones(3)), "x_hat: expected finite"),
    (lambda: R.solve_cd(problem(0)[1] + 1j, problem(0)[2], 0.1), "DFT of real images"),
    (lambda: R.solve_cd(np.full((3, 1, 2, 2), np.nan), np.ones(3), 0.1), "x_hat: expected finite"),
    (lambda: R.solve_cd(problem(0)[1], np.ones(7), 0.1), "y: expected shape"),
    (lambda: R.ridge(problem(0)[1] + 1j, problem(0)[2], 0.1), "DFT of real images"),
    (lambda: R.ridge_pixels(problem(0)[1], problem(0)[2], 0.1), "x: expected real images"),
    (lambda: R.ridge_pixels(np.full((3, 1, 2, 2), np.inf), np.ones(3), 0.1), "x: expected finite"),
    (lambda: R.ridge_pixels(problem(0)[0], np.ones(7), 0.1), "y: expected shape"),
    (lambda: R.ridge_pixels(problem(0)[0][0], problem(0)[2], 0.1), "x: expected 4 dimensions"),
    (lambda: __import__("theory.lasso_ws").lasso_ws.lasso_working_set(*problem(0)[1:], 0.1, first=0), "first"),
    (lambda: R.solve(*problem(0)[1:], lam=0.1, penalty="l0"), "penalty"),
    (lambda: R.solve(*problem(0)[1:], lam=0.1, penalty="schatten", L=2), "L >= 3"),
    (lambda: R.design(*problem(0)[1:], loss="hinge"), "loss"),
    (lambda: R.design(problem(0)[1], np.full(40, 0.5), loss="cross_entropy"), "integer class labels"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_solver_failure_is_an_error(monkeypatch):
    """An inaccurate cvxpy status raises SolverError unless explicitly allowed (then it warns)."""
    import cvxpy as cp
    _, xh, y = problem(0)
    monkeypatch.setattr(cp.Problem, "status", property(lambda self: cp.OPTIMAL_INACCURATE))
    with pytest.raises(R.SolverError, match="optimal_inaccurate"):
        CR.solve_cvxpy(xh, y, 0.1, "nuclear")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        CR.solve_cvxpy(xh, y, 0.1, "nuclear", allow_inaccurate=True)
    assert any("allow_inaccurate" in str(x.message) for x in w)


def test_gram_by_symmetric_update_equals_the_plain_product():
    """theory.linalg.gram (dsyrk + blockwise mirror) equals X.T @ X, for sizes around the mirror's block."""
    import numpy as np
    from theory.linalg import gram, mirror_upper
    rng = np.random.default_rng(0)
    for d in (1, 7, 512, 515, 1030):
        X = rng.standard_normal((40, d))
        G = gram(X)
        assert np.allclose(G, X.T @ X, rtol=1e-12, atol=1e-10) and np.array_equal(G, G.T), d
    A = rng.standard_normal((600, 600))
    assert np.array_equal(mirror_upper(np.triu(A)), np.triu(A) + np.triu(A, 1).T)


@settings(max_examples=12, deadline=None)
@given(seeds, st.integers(1, 2), st.integers(1, 2), st.sampled_from([(3, 4), (4, 4), (5, 3)]),
       st.floats(1e-3, 0.3), st.sampled_from([1, 3, 128]))
def test_working_set_lasso_equals_full_gram_cd(seed, C, K, hw, lam, first):
    """theory.lasso_ws (working sets, sub-Grams from real products, no full Gram) reaches the full-Gram
    coordinate descent's optimum, with a valid duality-gap certificate, any first working-set size
    (1 forces several rounds); its objective is regression.objective's; solve_cd(x_hat=...) takes it."""
    from theory.lasso_ws import lasso_working_set
    _, xh, y = problem(seed, N=70, C=C, H=hw[0], W=hw[1], K=K)
    Y = y.reshape(len(y), -1)
    d = R.design(xh, y)
    full = R.solve_cd(d=d, lam=lam, penalty="lasso", tol=1e-13)
    ws = lasso_working_set(xh, Y, lam, tol=1e-13, first=first)
    assert ws.converged
    assert abs(ws.objective - R.objective(d, ws.v_hat, lam, "lasso")) <= 1e-12 * ws.objective
    assert abs(ws.objective - full.objective) <= 1e-10 * full.objective
    assert -1e-12 <= ws.objective - full.objective <= ws.gap + 1e-12 * full.objective
    assert rel_err(ws.v_hat, full.v_hat) < 1e-6
    I, J = dft.conjugate_indices(*hw)
    assert rel_err(ws.v_hat[..., I, J], np.conj(ws.v_hat)) < 1e-12
    via = R.solve_cd(xh, y, lam, penalty="lasso", tol=1e-13)
    assert rel_err(via.v_hat, ws.v_hat) < 1e-12


def test_working_set_subgram_equals_the_dense_product():
    """The working set's Gram built from [Re A_K, Im A_K] equals A_S^H A_S / N, S = K and its partners -K."""
    from theory.lasso_ws import _pairs, _subgram
    _, xh, _ = problem(2, N=30, C=2, H=4, W=5)
    A = xh.reshape(30, -1)
    neg, self_conj = _pairs(4, 5, 2)
    assert np.allclose(A[:, neg], np.conj(A))                 # A_{-k} = conj(A_k) for real images
    K = np.array([0, 1, 3, 20, 22, 27])                        # self-conjugate (0, 20, 22) and pairs
    S, G = _subgram(A, K, neg, self_conj, 30)
    assert sorted(S) == sorted(set(K) | set(neg[K]))
    assert rel_err(G, A[:, S].conj().T @ A[:, S] / 30) < 1e-13


@given(seeds, st.integers(0, 1), st.integers(0, 3), st.integers(0, 4), st.booleans())
def test_real_spectrum_check_against_the_gather_definition(seed, c, i, j, imag):
    """check_real_spectrum (one compiled pass) accepts the DFT of real images and rejects one
    coefficient moved off conjugate symmetry, exactly when the definition x_hat[-k] = conj(x_hat[k]) fails."""
    from theory.real_basis import check_real_spectrum
    _, xh, _ = problem(seed, N=3, C=2, H=4, W=5)
    check_real_spectrum(xh)
    bad = xh.copy()
    bad[1, c, i, j] += 1e-5 * np.abs(xh).max() * (1j if imag else 1)
    I, J = dft.conjugate_indices(4, 5)
    broken = np.abs(bad - np.conj(bad[..., I, J])).max() > 1e-8 * np.abs(bad).max()
    if broken:
        with pytest.raises(ValueError, match="DFT of real images"):
            check_real_spectrum(bad)
    else:
        check_real_spectrum(bad)
    assert broken or not imag     # only a real change at a self-conjugate k keeps the symmetry
    with pytest.raises(ValueError, match="finite"):
        check_real_spectrum(np.where(np.arange(20).reshape(4, 5) == 7, np.nan, xh))


def test_working_set_lasso_zero_solution():
    """lam above max|b| (the KKT threshold of u = 0): the zero solution in one round, gap 0."""
    from theory.lasso_ws import lasso_working_set
    _, xh, y = problem(0)
    lam = 1.01 * np.abs(R.design(xh, y).b).max()
    ws = lasso_working_set(xh, y[:, None], lam)
    assert ws.converged and ws.iterations == 1 and not np.any(ws.v_hat)
    assert abs(ws.objective - np.mean(y ** 2)) < 1e-14 and abs(ws.gap) < 1e-14


@settings(max_examples=10, deadline=None)
@given(seeds, st.sampled_from([1e2, 1e4, 1e6]), st.integers(1, 2))
def test_mixed_precision_gram_solve_is_the_float64_solve(seed, cond, K):
    """theory.linalg.refined_gram_solve (float32 Gram + float64 refinement) returns the float64 solution of
    (Z^T Z / N + lam I) x = b, against a dense float64 solve, for Gram condition numbers up to 1e6."""
    from theory.linalg import refined_gram_solve
    rng = np.random.default_rng(seed)
    N, d = 300, 40
    U, _ = np.linalg.qr(rng.standard_normal((N, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Z = U * np.sqrt(N) * np.geomspace(1, cond ** -0.5, d) @ V.T          # Z^T Z / N has condition number cond
    b = rng.standard_normal((d, K))
    lam = 1e-9
    exact = np.linalg.solve(Z.T @ Z / N + lam * np.eye(d), b)
    x = refined_gram_solve(Z, b, lam)
    assert x is not None and rel_err(x, exact) < 1e-12 * cond


@pytest.mark.parametrize("seed", [0, 1])
def test_gram_solve_to_floor_is_as_accurate_as_float64_cholesky(seed):
    """to_floor=True (what ridge_pixels uses) refines past LAPACK dsposv's test until the float64 residual
    stops halving: its residual is no larger than a float64 Cholesky solve's (the plain test stops ~2x above)."""
    import scipy.linalg as sla

    from theory.linalg import refined_gram_solve
    rng = np.random.default_rng(seed)
    N, d, lam = 2000, 400, 1e-9
    U, _ = np.linalg.qr(rng.standard_normal((N, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Z = U * np.sqrt(N) * np.geomspace(1, 1e-3, d) @ V.T                  # condition number 1e6
    b = Z.T @ rng.standard_normal((N, 1)) / N
    cholesky64 = sla.cho_solve(sla.cho_factor(Z.T @ Z / N + lam * np.eye(d)), b)
    residual = lambda x: np.abs(b - (Z.T @ (Z @ x) / N + lam * x)).max()   # noqa: E731
    assert residual(refined_gram_solve(Z, b, lam, to_floor=True)) <= residual(cholesky64)


def test_mixed_precision_gram_solve_declines_when_float32_cannot_converge():
    """At condition number 1e12 the float32 factor is useless (its error exceeds the smallest eigenvalue):
    the solver returns None rather than a wrong answer, and ridge from data falls back to float64."""
    from theory.linalg import refined_gram_solve
    rng = np.random.default_rng(0)
    N, C, H, W = 200, 1, 4, 4
    U, _ = np.linalg.qr(rng.standard_normal((N, C * H * W)))
    V, _ = np.linalg.qr(rng.standard_normal((C * H * W, C * H * W)))
    x = (U * np.sqrt(N) * np.geomspace(1, 1e-6, C * H * W) @ V.T).reshape(N, C, H, W)
    y = rng.standard_normal(N)
    Z = x.reshape(N, -1)
    assert refined_gram_solve(Z, Z.T @ y[:, None] / N, 0.0) is None
    exact = dft.dft2(np.linalg.solve(Z.T @ Z / N, Z.T @ y / N).reshape(1, C, H, W))
    assert rel_err(R.ridge(dft.dft2(x), y, 0.0), exact) < 1e-3   # float64 at condition number 1e12
