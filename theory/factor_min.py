"""Lemma B.13 numerically: minimize ``(1/L) sum_l |A_l|_2^2`` over all factorizations ``A_L ... A_1 = B``.

Lemma B.13 (eq. B.14) claims the minimum equals ``|B|_{2/L}^{2/L}``; the balanced factorization
(eq. B.17) attains it, and "never below" is proved for L = 2 (Dixmier) or 1x1 blocks and otherwise
rests on Conjecture 4.13. This module attacks the claim directly, without an SVD of B.

Reduction (exact): for fixed ``A_1, ..., A_{L-1}`` with ``M = A_{L-1} ... A_1`` of full column
rank, the least-norm solution of ``A_L M = B`` is ``A_L = B M^+`` with
``|B M^+|_2^2 = tr(B (M^* M)^{-1} B^*)``. Replacing any feasible ``A_L`` by it can only lower the
penalty, so

    min_{A_L...A_1 = B} (1/L) sum_l |A_l|^2 = min_{A_1..A_{L-1}} (1/L) [sum_{l<L} |A_l|^2 + tr(B (M^*M)^{-1} B^*)],

an unconstrained smooth problem (the second term is a barrier against rank loss of M), solved
by L-BFGS (torch autograd, complex128) from many random starts. Every returned point is exactly
feasible up to round-off.

Second exact reduction, for rank-deficient or rectangular B (rank r): in any feasible factorization,
``A_1`` may be replaced by ``A_1 P_row`` and ``A_L`` by ``P_col A_L`` (orthogonal projections onto
the row and column spaces of B) without breaking feasibility, and that only lowers the penalty. So
the minimum for B equals the minimum for the r x r full-rank matrix ``U^* B V`` (U, V orthonormal
bases of col(B), row(B), here randomly rotated so the reduced matrix is generic, not diagonal), and
any inner widths >= r are allowed. There the optimum is interior (M of full rank r), so L-BFGS
converges fast. The method is *local*: it can show the minimum is reached and would expose
a feasible point below it; it cannot prove that none exists.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theory.optim import lbfgs
from theory._validate import as_array, positive_int
from theory.linalg import haar_unitary
from theory.schatten import product, schatten_power, singular_values


@dataclass
class FactorizationMinimum:
    """Result of :func:`minimize_factorization`, for the original (unscaled) B."""
    target: float                 # |B|_{2/L}^{2/L}: Lemma B.13's claimed minimum
    values: np.ndarray            # (starts,) penalty (1/L) sum |A_l|^2 at each start's end point
    residuals: np.ndarray         # (starts,) |A_L...A_1 - B|_F / |B|_F at each end point
    best_factors: list[np.ndarray] = field(repr=False)

    @property
    def best(self) -> float:
        """Smallest penalty among end points that are feasible (relative residual <= 1e-9)."""
        ok = self.residuals <= 1e-9
        return float(np.min(self.values[ok])) if ok.any() else float("nan")

    @property
    def relative_gaps(self) -> np.ndarray:
        """``(value - target) / target`` per start: >= 0 if Lemma B.13 holds, ~0 where the minimum is reached."""
        return (self.values - self.target) / self.target


def minimize_factorization(B, L: int, widths=None, starts: int = 8, seed: int = 0,
                           max_iter: int = 3000) -> FactorizationMinimum:
    """Minimize ``(1/L) sum_l |A_l|_2^2`` subject to ``A_L ... A_1 = B`` (Lemma B.13, eq. B.14) from random starts.

    B: ``(m, n)`` complex (scaled to unit Frobenius norm internally); L >= 2; widths:
    ``(w_1, ..., w_{L-1})``, each >= rank(B) (default rank(B)). Returns a :class:`FactorizationMinimum` whose ``best_factors`` are
    ``[A_1, ..., A_L]`` with ``A_L ... A_1 = B``.
    """
    import torch

    B = as_array("B", B, ndim=2).astype(np.complex128)
    L = positive_int("L", L, minimum=2)
    starts = positive_int("starts", starts)
    norm = float(np.linalg.norm(B))
    if norm == 0:
        raise ValueError("B: expected a nonzero matrix (for B = 0 the minimum is trivially 0)")
    r = int(np.count_nonzero(singular_values(B)))
    widths = [r] * (L - 1) if widths is None else [positive_int(f"widths[{i}]", w) for i, w in enumerate(widths)]
    if len(widths) != L - 1:
        raise ValueError(f"widths: expected L - 1 = {L - 1} inner widths, got {len(widths)}")
    if min(widths) < r:
        raise ValueError(f"widths: every inner width must be >= rank(B) = {r}, got {widths}")
    rng = np.random.default_rng(seed)
    U, _, Vh = np.linalg.svd(B / norm, full_matrices=False)
    U = U[:, :r] @ haar_unitary(rng, r)         # orthonormal basis of col(B)
    V = Vh[:r].conj().T @ haar_unitary(rng, r)  # orthonormal basis of row(B)
    Bt = torch.tensor(U.conj().T @ (B / norm) @ V)  # (r, r), full rank, same nonzero singular values
    dims = [r, *widths]
    values, residuals, best, best_val = [], [], None, np.inf

    for _ in range(starts):
        params = [torch.tensor(rng.standard_normal((2, dims[l + 1], dims[l])) / np.sqrt(2 * dims[l]),
                               requires_grad=True) for l in range(L - 1)]

        def inner(ps):
            As = [torch.complex(p[0], p[1]) for p in ps]
            M = As[0]
            for A in As[1:]:
                M = A @ M
            return As, M

        def objective():
            As, M = inner(params)
            G = M.conj().T @ M
            last = torch.trace(Bt @ torch.linalg.solve(G, Bt.conj().T)).real  # |B M^+|^2
            return (sum((A.abs() ** 2).sum() for A in As) + last) / L

        lbfgs(params, objective, max_iter, history=50)
        with torch.no_grad():
            As, M = inner(params)
            A_last = Bt @ torch.linalg.pinv(M)
            factors = [A.numpy() for A in As] + [A_last.numpy()]
        factors[0] = factors[0] @ V.conj().T       # back from the reduced problem: B = U Bt V^*
        factors[-1] = U @ factors[-1]
        factors = [A * norm ** (1.0 / L) for A in factors]
        val = float(sum(np.sum(np.abs(A) ** 2) for A in factors) / L)
        res = float(np.linalg.norm(product(factors) - B) / norm)
        values.append(val)
        residuals.append(res)
        if res <= 1e-9 and val < best_val:
            best, best_val = factors, val
    return FactorizationMinimum(target=float(schatten_power(B, 2.0 / L)), values=np.array(values),
                                residuals=np.array(residuals), best_factors=best or factors)
