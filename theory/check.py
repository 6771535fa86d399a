"""Theory check report: every identity of the Foundation, on random instances, in one table.

    freqsens check [--instances N] [--seed S] [--json PATH]

Each row states an identity, the paper equation it implements, how many random instances were
tried, the worst error seen, the tolerance (``theory.tolerances``) and a verdict. Rows marked
"as printed" evaluate the paper's constant-free form and are *expected* to fail by the derived
amount; their verdict says whether the measured error is exactly the derived one.
Exit status: 0 when every verdict is as expected, 1 otherwise, 2 on bad arguments.
"""
from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from infra.tables import text_table
from theory import dft, linear_cnn as lc, reference as ref, tolerances as tol
from theory.linalg import relative_error
from theory.schatten import (balanced_factorization, factorization_penalty, product, schatten_norm,
                             schatten_power)


@dataclass
class CheckResult:
    identity: str
    equation: str
    instances: int
    worst_error: float
    tolerance: float
    ok: bool
    verdict: str


def _shape(rng):
    """A small random spatial size and channel count (sizes bounded: the references are O(n^4))."""
    return int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 4))


def _complex(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _holds(name, eq, errors, tolerance) -> CheckResult:
    worst = float(np.max(errors))
    ok = worst <= tolerance
    return CheckResult(name, eq, len(errors), worst, tolerance, ok, "holds" if ok else "FAILS")


# ---- the checks: each takes (rng, n) and returns a CheckResult ---------------------------------

def check_dft_dense(rng, n):
    errs = []
    for _ in range(n):
        H, W, C = _shape(rng)
        x = rng.standard_normal((C, H, W))
        errs.append(relative_error(dft.dft2(x), ref.dft2_dense(x)))
    return _holds("dft2 equals the dense unitary DFT matrix", "3.5", errs, tol.EXACT_F64)


def check_unitary(rng, n):
    errs = []
    for _ in range(n):
        H, W, C = _shape(rng)
        F = ref.dft2_matrix(H, W)
        x = _complex(rng, C, H, W)
        errs += [relative_error(F.conj().T @ F, np.eye(H * W)), relative_error(dft.idft2(dft.dft2(x)), x),
                 abs(np.linalg.norm(dft.dft2(x)) - np.linalg.norm(x)) / np.linalg.norm(x)]
    return _holds("DFT is unitary: F^*F = I, inverse, norm preserved", "3.5", errs, tol.EXACT_F64)


def check_conv_direct(rng, n):
    errs = []
    for _ in range(n):
        H, W, C = _shape(rng)
        w, x = rng.standard_normal((2, C, H, W)), rng.standard_normal((C, H, W))
        loops = ref.circular_conv_loops(w, x)
        errs += [relative_error(dft.circular_conv(w, x), loops), relative_error(dft.circular_conv(w, x, method="direct"), loops)]
    return _holds("circular_conv (fft and direct) equals eq. 3.2 loops", "3.2", errs, tol.EXACT_F64)


def check_conv_theorem(rng, n):
    errs = []
    for _ in range(n):
        H, W, C = _shape(rng)
        w, x = rng.standard_normal((2, C, H, W)), rng.standard_normal((C, H, W))
        lhs = ref.dft2_dense(ref.circular_conv_loops(w, x))
        errs.append(relative_error(np.sqrt(H * W) * np.einsum("cdij,dij->cij", ref.dft2_dense(w), ref.dft2_dense(x)), lhs))
    return _holds("DFT(w*x) = sqrt(HW) w_hat.x_hat (exact convolution theorem)", "3.7", errs, tol.EXACT_F64)


def check_conv_theorem_printed(rng, n):
    """eq. 3.7 as printed: relative error must be exactly 1 - 1/sqrt(HW)."""
    errs, devs = [], []
    for _ in range(n):
        H, W, C = int(rng.integers(2, 6)), int(rng.integers(2, 6)), int(rng.integers(1, 4))
        w, x = rng.standard_normal((2, C, H, W)), rng.standard_normal((C, H, W))
        lhs = ref.dft2_dense(ref.circular_conv_loops(w, x))
        printed = np.einsum("cdij,dij->cij", ref.dft2_dense(w), ref.dft2_dense(x))
        err = np.linalg.norm(printed - lhs) / np.linalg.norm(lhs)
        errs.append(err)
        devs.append(abs(err - (1 - 1 / np.sqrt(H * W))))
    ok = max(devs) <= tol.EXACT_F64
    return CheckResult("as printed: DFT(w*x) = w_hat.x_hat (no constant)", "3.7", n, float(max(errs)),
                       tol.EXACT_F64, ok, "fails by exactly 1-1/sqrt(HW), as derived" if ok else "UNEXPECTED")


def check_parseval(rng, n):
    errs = []
    for _ in range(n):
        H, W, C = _shape(rng)
        w, x = rng.standard_normal((3, C, H, W)), rng.standard_normal((C, H, W))
        errs.append(relative_error(np.einsum("kdij,dij->k", ref.dft2_dense(w).conj(), ref.dft2_dense(x)),
                         ref.contract_loops(w, x)))
    return _holds("sum(w x) = sum(conj(w_hat) x_hat) (exact Parseval)", "3.8", errs, tol.EXACT_F64)


def check_parseval_printed(rng, n):
    """eq. 3.8 as printed (no conjugate): must fail on generic instances with H or W > 2."""
    errs = []
    for _ in range(n):
        H, W, C = int(rng.integers(3, 6)), int(rng.integers(3, 6)), int(rng.integers(1, 4))
        w, x = rng.standard_normal((3, C, H, W)), rng.standard_normal((C, H, W))
        errs.append(relative_error(np.einsum("kdij,dij->k", ref.dft2_dense(w), ref.dft2_dense(x)), ref.contract_loops(w, x)))
    ok = min(errs) > 1e-3
    return CheckResult("as printed: sum(w x) = sum(w_hat x_hat) (no conjugate)", "3.8", n, float(max(errs)),
                       1e-3, ok, "fails on every instance, as derived" if ok else "UNEXPECTED")


def _random_net(rng):
    H, W, C = _shape(rng)
    L = int(rng.integers(1, 5))
    channels = [C, *rng.integers(1, 4, size=L - 1).tolist(), int(rng.integers(1, 4))]
    return lc.random_weights(channels, H, W, rng), rng.standard_normal((2, C, H, W))


def check_lemma_311(rng, n):
    errs = []
    for _ in range(n):
        ws, x = _random_net(rng)
        loops = np.array([ref.linear_cnn_loops(ws, xi) for xi in x])
        f_hat = lc.forward_fourier(ws, dft.dft2(x))
        errs += [relative_error(lc.forward_pixel(ws, x), loops), relative_error(f_hat, loops)]
    return _holds("Fourier network f_hat(x_hat) = f(x), L = 1..4", "3.12 (Lemma 3.11)", errs, tol.EXACT_F64)


def check_lemma_43(rng, n):
    errs = []
    for _ in range(n):
        ws, x = _random_net(rng)
        loops = np.array([ref.linear_cnn_loops(ws, xi) for xi in x])
        v = lc.v_hat(ws)
        I, J = dft.conjugate_indices(*v.shape[-2:])
        errs += [relative_error(dft.fourier_inner(v, dft.dft2(x)), loops), relative_error(v[..., I, J], v.conj())]
    return _holds("f = sum conj(v_hat) x_hat, v_hat = N^((L-1)/2) w_hat^L conj(...); v_hat[-k] = conj v_hat[k]",
                  "4.4 (Lemma 4.3)", errs, tol.EXACT_F64)


def check_schatten(rng, n):
    errs = []
    for _ in range(n):
        m, k = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        A = _complex(rng, 3, m, k)
        # independent route to singular values: eigenvalues of A^*A (no SVD)
        ev = np.clip(np.linalg.eigvalsh(np.swapaxes(A.conj(), -1, -2) @ A), 0, None)
        s = np.sqrt(ev)[..., ::-1][..., :min(m, k)]
        for p in (0.1, 0.5, 2 / 3, 1.0, 2.0, 3.0):
            errs.append(relative_error(schatten_norm(A, p), np.sum(s ** p, -1) ** (1 / p)))
        errs += [relative_error(schatten_norm(A, 2), np.linalg.norm(A, axis=(-2, -1))), relative_error(schatten_norm(A, np.inf), s[..., 0])]
    return _holds("Schatten |A|_p = (sum s^p)^(1/p), p in {0.1..3, inf}, batched", "4.7", errs, 1e-7)


def check_quasinorm(rng, n):
    """For p < 1 the triangle inequality fails: |A+B|_p > |A|_p + |B|_p for some A, B."""
    worst = 0.0
    for _ in range(n):
        k = int(rng.integers(2, 5))
        p = float(rng.uniform(0.1, 0.9))
        A, B = np.zeros((k, k)), np.zeros((k, k))
        A[0, 0], B[1, 1] = rng.uniform(0.5, 2, size=2)
        Q = np.linalg.qr(_complex(rng, k, k))[0]
        A, B = Q @ A, Q @ B
        worst = max(worst, float(schatten_norm(A + B, p) / (schatten_norm(A, p) + schatten_norm(B, p))))
    ok = worst > 1
    return CheckResult("p < 1: triangle inequality fails (quasi-norm), max |A+B|/(|A|+|B|)", "4.7", n, worst,
                       1.0, ok, "counterexamples found, as expected" if ok else "UNEXPECTED")


def _random_B(rng):
    m, k = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    r = int(rng.integers(1, min(m, k) + 1))
    return _complex(rng, m, r) @ _complex(rng, r, k)  # rank r (possibly deficient)


def check_balanced(rng, n):
    errs = []
    for _ in range(n):
        B, L = _random_B(rng), int(rng.integers(1, 7))
        F = balanced_factorization(B, L)
        errs += [relative_error(product(F), B), relative_error(factorization_penalty(F), schatten_power(B, 2 / L))]
    return _holds("balanced factorization: product = B, penalty = |B|_{2/L}^{2/L}", "B.16, B.17", errs, tol.EXACT_F64)


def check_random_feasible(rng, n):
    """Random factorizations of B (balanced ones moved by random invertible gauges) never go below."""
    gaps = []
    for _ in range(n):
        B, L = _random_B(rng), int(rng.integers(2, 6))
        F = balanced_factorization(B, L)
        for l in range(L - 1):  # A_l -> G_l A_l, A_{l+1} -> A_{l+1} G_l^{-1}
            g = np.eye(F[l].shape[0]) + 0.7 * _complex(rng, F[l].shape[0], F[l].shape[0])
            F[l], F[l + 1] = g @ F[l], F[l + 1] @ np.linalg.inv(g)
        target = schatten_power(B, 2 / L)
        gaps.append((target - factorization_penalty(F)) / target)  # must be <= 0
    worst = float(max(gaps))
    ok = worst <= tol.LOWER_BOUND_SLACK
    return CheckResult("random feasible factorizations: penalty >= |B|_{2/L}^{2/L}", "B.15", n, max(worst, 0.0),
                       tol.LOWER_BOUND_SLACK, ok, "holds (never below)" if ok else "FAILS")


def check_lemma_b13(rng, n):
    from theory.factor_min import minimize_factorization
    below, reach = [], []
    for _ in range(n):
        B, L = _random_B(rng), int(rng.integers(2, 6))
        res = minimize_factorization(B, L, starts=3, seed=int(rng.integers(2**31)))
        below.append(max(0.0, -float(np.min(res.relative_gaps))))
        reach.append(abs(res.best - res.target) / res.target)
    worst = max(max(below), max(reach))
    ok = max(below) <= tol.OPTIMIZER and max(reach) <= tol.OPTIMIZER
    return CheckResult("Lemma B.13, any L: min over factorizations (L-BFGS, 3 starts) = |B|_{2/L}^{2/L}",
                       "B.14", n, worst, tol.OPTIMIZER, ok, "reached, never beaten" if ok else "FAILS")


def check_nuclear_sdp(rng, n):
    """eq. 4.11 (L = 2): nuclear norm via cvxpy's SDP = sum of singular values = factorization minimum."""
    import cvxpy as cp
    errs = []
    for _ in range(n):
        B = _random_B(rng)
        m, k = B.shape
        X = cp.Variable((m, m), hermitian=True)
        Y = cp.Variable((k, k), hermitian=True)
        # min (|W1|^2 + |W2|^2)/2 over B = W2 W1  <=>  min (tr X + tr Y)/2, [[X, B], [B^*, Y]] >= 0
        sdp = cp.Problem(cp.Minimize(cp.real(cp.trace(X) + cp.trace(Y)) / 2), [cp.bmat([[X, cp.Constant(B)], [cp.Constant(B.conj().T), Y]]) >> 0])
        with warnings.catch_warnings():   # raised inside cvxpy's own complex-to-real reduction (cvxpy 1.9)
            warnings.filterwarnings("ignore", message="Initializing a Constant with a nested list")
            sdp.solve(solver=cp.CLARABEL)
        Z = cp.Variable(B.shape, complex=True)
        nuc = cp.Problem(cp.Minimize(cp.normNuc(Z)), [Z == B])
        nuc.solve(solver=cp.CLARABEL)
        if sdp.status != cp.OPTIMAL or nuc.status != cp.OPTIMAL:
            errs.append(np.inf)
            continue
        svd = schatten_norm(B, 1)
        errs += [relative_error(sdp.value, svd), relative_error(nuc.value, svd),
                 relative_error(factorization_penalty(balanced_factorization(B, 2)), svd)]
    return _holds("L=2: cvxpy normNuc = SDP factorization min = sum s_i = balanced value", "4.11", errs,
                  tol.CONIC_SOLVER)


def check_theorem_49(rng, n):
    """Exact constant of Theorem 4.9: min sum |w_l|^2 = L N^(-(L-1)/L) sum_k |v_hat_k|_{2/L}^{2/L}."""
    errs, gaps = [], []
    for _ in range(n):
        ws, _x = _random_net(rng)
        L, v = len(ws), lc.v_hat(ws)
        wb = lc.balanced_weights(v, L)
        target = lc.min_weight_penalty(v, L)
        errs += [relative_error(lc.v_hat(wb), v), relative_error(lc.weight_penalty(wb), target)]
        gaps.append((target - lc.weight_penalty(ws)) / target)  # random real weights: never below
    ok = max(errs) <= tol.EXACT_F64 and max(gaps) <= tol.LOWER_BOUND_SLACK
    return CheckResult("real balanced weights attain L N^(-(L-1)/L) sum|v_hat|_{2/L}^{2/L}; random ones stay above",
                       "4.10, B.9 (Thm 4.9)", n, float(max(errs)), tol.EXACT_F64, ok, "holds" if ok else "FAILS")


CHECKS: dict[str, Callable] = {
    "dft-dense": check_dft_dense, "dft-unitary": check_unitary, "conv-direct": check_conv_direct,
    "conv-theorem": check_conv_theorem, "conv-theorem-printed": check_conv_theorem_printed,
    "parseval": check_parseval, "parseval-printed": check_parseval_printed,
    "lemma-3.11": check_lemma_311, "lemma-4.3": check_lemma_43, "schatten": check_schatten,
    "quasi-norm": check_quasinorm, "balanced": check_balanced, "random-feasible": check_random_feasible,
    "lemma-B.13": check_lemma_b13, "nuclear-sdp": check_nuclear_sdp, "theorem-4.9": check_theorem_49,
}
# expensive checks get fewer instances (optimizer / conic solver per instance)
COST = {"lemma-B.13": 4, "nuclear-sdp": 4}


def run_checks(instances: int = 20, seed: int = 0, names=None, progress: bool = False) -> list[CheckResult]:
    """Run the named checks (default all) with ``instances`` random instances each, seeded."""
    names = list(CHECKS) if names is None else list(names)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"names: unknown checks {unknown}; choose from {list(CHECKS)}")
    it = names
    if progress:
        from tqdm import tqdm
        it = tqdm(names, desc="theory checks", unit="check", file=sys.stderr)
    results = []
    for i, name in enumerate(it):
        rng = np.random.default_rng([seed, i])
        results.append(CHECKS[name](rng, max(1, instances // COST.get(name, 1))))
    return results


def format_table(results: list[CheckResult]) -> str:
    """Plain-text table: identity, paper eq., instances, worst error, tolerance, verdict."""
    head = ("identity", "paper eq.", "inst.", "worst error", "tolerance", "verdict")
    rows = [(r.identity, r.equation, str(r.instances), f"{r.worst_error:.2e}", f"{r.tolerance:.0e}", r.verdict)
            for r in results]
    return text_table(head, rows)
