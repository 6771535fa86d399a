"""Ridge, LASSO and per-frequency Schatten/nuclear-norm regression on DFT data (eq. 4.10-4.18, A.1-A.7).

Setting. Data ``x_hat: (N, C, H, W)``, the unitary DFT of real images, and targets ``y: (N,)`` or
``(N, K)``. The predictor is ``f(x) = sum_k conj(v_hat_k) x_hat_k`` (exact eq. 3.8/4.4; ``v_hat`` the DFT
of a real filter, ``(K, C, H, W)``). Internally everything is written in ``u = conj(v_hat)``, flattened to
``(CHW, K)``, so that ``f = X_hat u`` and the squared loss has the covariance form

    (1/N) |y - X_hat u|^2 = u^H G u - 2 Re tr(b^H u) + yy,   G = X_hat^H X_hat / N,  b = X_hat^H y / N.

G is obtained exactly from the real pixel Gram ``X^T X / N`` by FFTs (``theory.spectra.pixel_to_fourier``).

Problems (lam >= 0; the penalty is the paper's, *without* Theorem 4.9's DFT constant; see
``theory.equivalence`` for the map from weight decay on a linear CNN):

* ridge (L = 1, eq. 4.15):          (1/N)|y - f|^2 + lam sum_k |v_hat_k|_F^2
* lasso (eq. A.1):                   (1/N)|y - f|^2 + 2 lam sum_{c,i,j} |v_hat_cij|           (modulus per coefficient)
* nuclear (L = 2, Thm 4.9 case ii):  (1/N)|y - f|^2 + 2 lam sum_k |v_hat_k|_1                (K x C block per frequency)
* schatten (L >= 3, eq. 4.10):       (1/N)|y - f|^2 + L lam sum_k |v_hat_k|_{2/L}^{2/L}      (non-convex: LOCAL solver)

For a real image set the optimum is conjugate-symmetric (the problem is invariant under
``v_hat[k] -> conj(v_hat[-k])`` and convex), so it is the DFT of a real predictor; the solvers keep the
symmetry exactly and the tests check it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theory._validate import as_array, nonnegative, positive_int, regression_data
from theory.dft import conjugate_symmetrise, dft2, idft2
from theory.fista import fista, largest_eigenvalue
from theory.linalg import gram, refined_gram_solve
from theory.spectra import pixel_to_fourier

PENALTIES = ("ridge", "lasso", "nuclear", "schatten")


class SolverError(RuntimeError):
    """A solver failed or reported an inaccurate solution."""


@dataclass
class Design:
    """Sufficient statistics of a squared-loss problem on DFT data (covariance form)."""
    shape: tuple[int, int, int]    # (C, H, W)
    N: int
    K: int
    b: np.ndarray                  # (CHW, K) complex, X_hat^H y / N
    yy: float                      # |y|^2 / N
    G_pix: np.ndarray = field(repr=False)  # (CHW, CHW) real, X^T X / N
    b_pix: np.ndarray = field(repr=False)  # (CHW, K) real, X^T y / N
    loss: str = "squared"
    X: np.ndarray | None = field(default=None, repr=False)       # (N, CHW) pixels, cross-entropy only
    labels: np.ndarray | None = field(default=None, repr=False)  # (N,) int, cross-entropy only
    _G: np.ndarray | None = field(default=None, repr=False)

    @property
    def G(self) -> np.ndarray:
        """``(CHW, CHW)`` complex Hermitian ``X_hat^H X_hat / N = conj(F G_pix F^*)``, computed on first use
        (the pixel-space ridge never needs it: 1.2 s at 3072 features)."""
        if self._G is None:
            self._G = np.conj(pixel_to_fourier(self.G_pix, self.shape))
        return self._G

    def pixel_loss(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        """Data term and its gradient in the real pixel filter ``v: (CHW, K)``.

        squared: ``(1/N)|y - X v|^2`` (covariance form); cross_entropy: mean softmax cross-entropy of
        the logits ``X v`` against ``labels``.
        """
        if self.loss == "squared":
            Gv = self.G_pix @ v
            return float(np.sum(v * Gv) - 2 * np.sum(self.b_pix * v) + self.yy), 2 * (Gv - self.b_pix)
        logits = self.X @ v
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        p[np.arange(self.N), self.labels] -= 1
        return float(-np.mean(logp[np.arange(self.N), self.labels])), self.X.T @ p / self.N


CHUNK = 2048   # images per inverse-DFT chunk: bounds the complex temporary (2048 x 3072 x 16 B = 100 MB)


def _real_pixels(x_hat: np.ndarray) -> np.ndarray:
    """The real images ``X = idft2(x_hat)``, ``(N, C*H*W)`` float64 C-contiguous, in one chunked pass that also
    checks ``x_hat`` is finite and the DFT of real images: ``max|Im idft2(x_hat)| <= 1e-8 max|idft2(x_hat)|``
    (equivalently ``x_hat[-k] = conj(x_hat[k])``, eq. 3.6). Contiguity matters: the Gram product on the
    strided ``.real`` view took 11.5 s instead of 4.9 s at 50,000 x 3072."""
    N = x_hat.shape[0]
    X = np.empty((N, int(np.prod(x_hat.shape[1:]))))
    imag = scale = 0.0
    for s in range(0, N, CHUNK):
        z = idft2(x_hat[s:s + CHUNK]).reshape(-1, X.shape[1])
        X[s:s + CHUNK] = z.real
        # max and min propagate NaN and inf, so these four reductions also check finiteness (no temporaries)
        hi = max(float(X[s:s + CHUNK].max(initial=0.0)), -float(X[s:s + CHUNK].min(initial=0.0)))
        im = max(float(z.imag.max(initial=0.0)), -float(z.imag.min(initial=0.0)))
        if not (np.isfinite(hi) and np.isfinite(im)):
            raise ValueError("x_hat: expected finite entries, found NaN or inf")
        imag, scale = max(imag, im), max(scale, hi, im)
    if imag > 1e-8 * max(scale, np.finfo(float).tiny):
        raise ValueError("x_hat: expected the DFT of real images (x_hat[-k] = conj(x_hat[k]))")
    return X


LOSSES = ("squared", "cross_entropy")


def design(x_hat, y, loss: str = "squared") -> Design:
    """Build the statistics of the problems on DFT data: the covariance form of eq. 4.15 (pixel Gram +
    FFTs, exact) and, for ``loss="cross_entropy"``, the pixel data with integer labels ``y: (N,)``
    (K = number of classes = max label + 1)."""
    if loss not in LOSSES:
        raise ValueError(f"loss: expected one of {LOSSES}, got {loss!r}")
    labels = None
    if loss == "cross_entropy":
        lab = as_array("y", y, ndim=1)
        if not np.all(lab == np.round(lab)) or lab.min() < 0:
            raise ValueError("y: cross-entropy needs integer class labels >= 0")
        labels = lab.astype(np.int64)
        y = np.eye(int(labels.max()) + 1)[labels]
    x_hat, Y = regression_data(x_hat, y)
    N, C, H, W = x_hat.shape
    X = _real_pixels(x_hat)
    G_pix, b_pix = gram(X) / N, X.T @ Y / N
    # G = conj(F) G_pix F = conj(F G_pix F^*) (lazily, Design.G);  b = X_hat^H y / N = conj(F) X^T y / N
    b = np.conj(dft2(b_pix.T.reshape(-1, C, H, W))).reshape(Y.shape[1], -1).T
    return Design((C, H, W), N, Y.shape[1], b, float(np.sum(Y ** 2) / N), G_pix, b_pix, loss,
                  X if loss == "cross_entropy" else None, labels)


def _u_to_v(u: np.ndarray, d: Design) -> np.ndarray:
    return np.conj(u).T.reshape((d.K,) + d.shape)


def _v_to_u(v_hat: np.ndarray, d: Design) -> np.ndarray:
    return np.conj(np.asarray(v_hat)).reshape(d.K, -1).T


def _blocks(u: np.ndarray, d: Design) -> np.ndarray:
    """``(CHW, K) -> (HW, C, K)``: per frequency the block ``conj(v_hat_k)^T`` (same singular values)."""
    C, H, W = d.shape
    return np.moveaxis(u.reshape(C, H * W, d.K), 1, 0)


def _unblocks(B: np.ndarray, d: Design) -> np.ndarray:
    return np.moveaxis(B, 0, 1).reshape(-1, d.K)


# ---- objective -------------------------------------------------------------------------------

def penalty_value(v_hat, penalty: str, L: int = 2) -> float:
    """The penalty term *without* lam: ridge sum|v|^2, lasso 2 sum|v_cij|, nuclear 2 sum|v_k|_1,
    schatten L sum|v_k|_{2/L}^{2/L} (per-frequency K x C blocks)."""
    from theory.schatten import schatten_power
    v = as_array("v_hat", v_hat, ndim=4)
    if penalty == "ridge":
        return float(np.sum(np.abs(v) ** 2))
    if penalty == "lasso":
        return float(2 * np.sum(np.abs(v)))
    blocks = np.moveaxis(v, (0, 1), (-2, -1))  # (H, W, K, C)
    if penalty == "nuclear":
        return float(2 * np.sum(schatten_power(blocks, 1.0)))
    if penalty == "schatten":
        return float(L * np.sum(schatten_power(blocks, 2.0 / L)))
    raise ValueError(f"penalty: expected one of {PENALTIES}, got {penalty!r}")


def objective(d: Design, v_hat, lam: float, penalty: str, L: int = 2) -> float:
    """``(1/N)|y - f|^2 + lam * penalty(v_hat)``, evaluated exactly from the design (eq. 4.10 family)."""
    fit = d.pixel_loss(_v_to_pixel(as_array("v_hat", v_hat, ndim=4), d))[0]
    return fit + nonnegative("lam", lam) * penalty_value(v_hat, penalty, L)


def _v_to_pixel(v_hat: np.ndarray, d: Design) -> np.ndarray:
    """``v_hat (K, C, H, W) -> v (CHW, K)``, the real pixel filter (imaginary round-off dropped)."""
    return idft2(v_hat).real.reshape(d.K, -1).T


# ---- ridge (eq. 4.15, 4.18) --------------------------------------------------------------------

def ridge(x_hat=None, y=None, lam: float = 0.0, d: Design | None = None, method: str = "pixel") -> np.ndarray:
    """Exact ridge solution of eq. 4.15: ``(lam + G) u = b``, ``v_hat = conj(u)``; ``(K, C, H, W)``.

    method="pixel" (default, fast): the real system ``(lam + X^T X/N) v = X^T y/N`` by Cholesky, from data in
    the real Fourier basis (``theory.real_basis``: the design gathered from x_hat, no FFT), then ``v_hat``
    (orthogonal changes of basis: the same solution); method="fourier": eq. 4.15 literally, the complex
    Hermitian system. lam = 0 is least squares: needs N >= CHW and full rank, else ValueError."""
    lam = nonnegative("lam", lam)
    if method not in ("pixel", "fourier"):
        raise ValueError(f"method: expected 'pixel' or 'fourier', got {method!r}")
    if d is None and method == "pixel":
        from theory.real_basis import from_real_coefficients, real_fourier_design
        x_hat, Y = regression_data(x_hat, y)
        Z = real_fourier_design(x_hat)                                   # (N, CHW), Z = X Q
        beta = refined_gram_solve(Z, Z.T @ Y / len(Z), lam)                # mixed precision, float64 answer
        beta = _spd_solve(gram(Z) / len(Z), Z.T @ Y / len(Z), lam, len(Z)) if beta is None else beta
        return from_real_coefficients(beta, x_hat.shape[1:])
    d = d if d is not None else design(x_hat, y)
    sol = _spd_solve(d.G_pix, d.b_pix, lam, d.N) if method == "pixel" else _spd_solve(d.G, d.b, lam, d.N)
    return dft2(sol.T.reshape((d.K,) + d.shape)) if method == "pixel" else _u_to_v(sol, d)


def ridge_pixels(x, y, lam: float) -> np.ndarray:
    """Exact ridge solution of eq. 4.15 from pixels: ``x (N, C, H, W)`` real images, ``y (N,)`` or ``(N, K)``,
    ``lam >= 0`` (0: least squares, full rank needed) -> ``v_hat (K, C, H, W)``, the same answer as
    ``ridge(dft2(x), y, lam)``.

    The unitary DFT is orthogonal on real images and ``|v_hat|_F = |v|_F`` (Parseval), so eq. 4.15's objective
    is the pixel-space ridge objective of ``v = idft2(v_hat)``: solve ``(X^T X / N + lam I) v = X^T y / N`` on
    the pixels (float32 Gram refined to the float64 floor, ``theory.linalg.refined_gram_solve``), then one
    DFT of the K filters. No DFT of the N images is needed: the cheapest route when the user holds pixels."""
    lam = nonnegative("lam", lam)
    x = as_array("x", x, ndim=4, finite=False)
    if np.iscomplexobj(x):
        raise ValueError("x: expected real images (pixels); for DFT data use ridge(x_hat, y, lam)")
    _, Y = regression_data(x, y)
    X = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float64)          # (N, CHW), a view when float64
    if not np.all(np.isfinite(X)):
        raise ValueError("x: expected finite entries, found NaN or inf")
    rhs = X.T @ Y / len(X)                                                      # (CHW, K)
    v = refined_gram_solve(X, rhs, lam, to_floor=True)   # as accurate as a float64 Cholesky solve
    v = _spd_solve(gram(X) / len(X), rhs, lam, len(X)) if v is None else v
    return dft2(v.T.reshape((Y.shape[1],) + x.shape[1:]))


def _spd_solve(A: np.ndarray, rhs: np.ndarray, lam: float, N: int) -> np.ndarray:
    """``(A + lam I)^{-1} rhs`` by Cholesky, ValueError if singular; A Gram-like ``(n, n)``, rhs ``(n, K)``."""
    import scipy.linalg as sla
    try:
        c = sla.cho_factor(A + lam * np.eye(A.shape[0]), lower=False, check_finite=False)
        sol = sla.cho_solve(c, rhs, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(f"lam = {lam}: the design X^T X / N + lam I is singular (N = {N}, features = "
                         f"{A.shape[0]}); use lam > 0") from None
    # cond(A) >= (max diag(R) / min diag(R))^2 for the Cholesky factor R: a cheap singularity test (no SVD)
    r = np.abs(np.diagonal(c[0]))
    if r.min() ** 2 < 1e-14 * r.max() ** 2:
        raise ValueError(f"lam = {lam}: the design X^T X / N + lam I is numerically singular; use a larger lam")
    return sol


def tau_uncentred(d: Design) -> np.ndarray:
    """``tau_cij = (X_hat^H X_hat / N)_{cij, cij}``: the diagonal of eq. 4.17 (the variance for centred data)."""
    return np.real(np.diagonal(d.G)).reshape(d.shape).copy()


def ridge_diagonal(x_hat=None, y=None, lam: float = 0.0, d: Design | None = None) -> tuple[np.ndarray, float]:
    """eq. 4.18: ``v_hat_cij = tau_cij / (lam + tau_cij) * v_hat_LS,cij`` and its relative distance
    ``|v_diag - v_ridge| / |v_ridge|`` from the exact ridge solution (how well eq. 4.17 holds here)."""
    d = d if d is not None else design(x_hat, y)
    v_ls = ridge(lam=0.0, d=d)
    t = tau_uncentred(d)
    v_diag = t / (lam + t) * v_ls
    exact = ridge(lam=lam, d=d)
    return v_diag, float(np.linalg.norm(v_diag - exact) / max(np.linalg.norm(exact), np.finfo(float).tiny))


# ---- proximal operators (per frequency) ----------------------------------------------------------

def _prox_scalar_power(z: np.ndarray, t: np.ndarray, p: float) -> np.ndarray:
    """argmin_s>=0 of (s - z)^2 / 2 + t s^p for z >= 0, 0 < p < 1 (vectorised bisection; exact to ~1e-15)."""
    s0 = (t * p * (1 - p)) ** (1 / (2 - p))          # phi is convex for s >= s0
    lo, hi = np.minimum(s0, z), z.copy()
    for _ in range(80):
        mid = (lo + hi) / 2
        grad = mid - z + t * p * np.where(mid > 0, mid, 1.0) ** (p - 1)
        lo, hi = np.where(grad < 0, mid, lo), np.where(grad < 0, hi, mid)
    s = (lo + hi) / 2
    phi_s = 0.5 * (s - z) ** 2 + t * s ** p
    return np.where((s > 0) & (phi_s < 0.5 * z ** 2), s, 0.0)


def prox(B: np.ndarray, t: np.ndarray, penalty: str, L: int = 2) -> np.ndarray:
    """Proximal map of ``t_k * pen(B_k)`` for blocks ``B: (HW, C, K)``, thresholds ``t: (HW,)``.

    lasso: complex soft-threshold of each entry's modulus (pen = 2 sum|b|); nuclear: singular value
    soft-threshold (pen = 2 |B|_1); schatten: the exact scalar prox of L s^(2/L) on every singular
    value (pen = L sum s^(2/L), non-convex); ridge: shrinkage (pen = |B|_F^2).
    """
    t = t[:, None, None]
    if penalty == "ridge":
        return B / (1 + 2 * t)
    if penalty == "lasso":
        mod = np.abs(B)
        return B * np.maximum(1 - 2 * t / np.where(mod > 0, mod, 1.0), 0.0)
    U, s, Vh = np.linalg.svd(B, full_matrices=False)
    if penalty == "nuclear":
        s = np.maximum(s - 2 * t[..., 0], 0.0)
    elif penalty == "schatten":
        s = _prox_scalar_power(s, np.broadcast_to(L * t[..., 0], s.shape), 2.0 / L)
    else:
        raise ValueError(f"penalty: expected one of {PENALTIES}, got {penalty!r}")
    return (U * s[..., None, :]) @ Vh


# ---- the fast proximal solver --------------------------------------------------------------------

@dataclass
class Solution:
    v_hat: np.ndarray      # (K, C, H, W)
    objective: float       # re-evaluated exactly
    iterations: int
    converged: bool


def solve(x_hat=None, y=None, lam: float = 0.0, penalty: str = "lasso", L: int = 2, d: Design | None = None,
          tol: float = 1e-12, max_iter: int = 20000, v0=None, loss: str = "squared") -> Solution:
    """Proximal solver for every problem of this module, squared or cross-entropy loss, all frequencies at once.

    FISTA with backtracking and adaptive restart (O'Donoghue & Candes 2015) in variables rescaled per
    frequency by ``a_k`` = the largest eigenvalue of G's C x C diagonal block at k, which equalises the
    huge spread of tau across frequencies while keeping the per-block prox closed-form. Stops when the
    relative objective change stays below ``tol`` for 20 iterations. For ``penalty="schatten"`` (L >= 3,
    non-convex) it is a monotone proximal-gradient *local* method: the result depends on ``v0``.
    """
    d = d if d is not None else design(x_hat, y, loss)
    lam = nonnegative("lam", lam)
    if penalty not in PENALTIES:
        raise ValueError(f"penalty: expected one of {PENALTIES}, got {penalty!r}")
    L = positive_int("L", L)
    if penalty == "schatten" and L < 3:
        raise ValueError("L: the schatten penalty is for L >= 3 (use ridge for L = 1, nuclear for L = 2)")
    if penalty == "ridge" and d.loss == "squared":
        v = ridge(lam=lam, d=d)
        return Solution(v, objective(d, v, lam, penalty), 0, True)
    C, H, W = d.shape
    HW = H * W
    Gb = d.G.reshape(C, HW, C, HW)
    diag_blocks = np.einsum("cpdp->pcd", Gb)                        # (HW, C, C)
    a = np.maximum(np.linalg.eigvalsh(diag_blocks)[:, -1], 1e-12 * max(np.max(np.real(np.diagonal(d.G))), 1e-300))
    scale = np.repeat(1 / np.sqrt(a)[None, :], C, axis=0).reshape(-1, 1)   # D^{-1/2} per row (c, p)

    def to_pixel(u):   # F u: the real pixel filter when u = conj(v_hat) is conjugate-symmetric
        return dft2(u.T.reshape((d.K,) + d.shape)).real.reshape(d.K, -1).T

    def to_fourier(g):  # Wirtinger gradient in u of a pixel-space gradient g: F^* g = conj(F g)
        return np.conj(dft2(g.T.reshape((d.K,) + d.shape))).reshape(d.K, -1).T

    def Gs_mul(w):      # D^{-1/2} G D^{-1/2} w with G u = F^* G_pix F u: one real matmul, 2 FFTs
        return scale * to_fourier(d.G_pix @ to_pixel(scale * w))
    homog = {"ridge": 2.0, "lasso": 1.0, "nuclear": 1.0, "schatten": 2.0 / L}[penalty]
    # pen_k(D^{-1/2} w) = a_k^{-homog/2} pen_k(w): thresholds per frequency
    weight = lam * a ** (-homog / 2)

    def smooth(w):
        val, g = d.pixel_loss(to_pixel(scale * w))
        return val, scale * to_fourier(g)

    def pen(w):
        u = w * scale
        return lam * penalty_value(_u_to_v(u, d), penalty, L)

    u0 = np.zeros((C * HW, d.K), complex) if v0 is None else _v_to_u(as_array("v0", v0, ndim=4), d)
    # largest eigenvalue of the rescaled G by power iteration on a symmetric start (backtracking guards it)
    q = _v_to_u(dft2(np.random.default_rng(0).standard_normal((d.K,) + d.shape)), d)
    step = 1.0 / (2.2 * largest_eigenvalue(Gs_mul, q))
    w, it, converged = fista(smooth, pen, lambda v, t: _unblocks(prox(_blocks(v, d), t * weight, penalty, L), d),
                             u0 / scale, step, tol, max_iter, monotone=penalty == "schatten")
    v = conjugate_symmetrise(_u_to_v(w * scale, d))   # exactly the DFT of a real filter (round-off removed)
    return Solution(v, objective(d, v, lam, penalty, L), it, converged)


def solve_cd(x_hat=None, y=None, lam: float = 0.0, penalty: str = "lasso", d: Design | None = None,
             tol: float = 1e-10, max_sweeps: int = 5000, inner: int = 10) -> Solution:
    """Fast exact solver for the convex lasso / nuclear problems: compiled coordinate descent in the
    covariance form (``theory._cd``), cheap because G is far better conditioned coordinate-wise in
    Fourier space than its 2e8 condition number suggests. lasso: exact complex coordinate minimisers;
    nuclear: block coordinate descent over frequencies (C x K blocks, proximal inner steps). The result
    is symmetrised (the optimum is unique and conjugate-symmetric) and its objective re-evaluated.
    lasso from data (``x_hat, y`` instead of ``d``): working sets (``theory.lasso_ws``), no full Gram;
    ``iterations`` then counts working-set rounds."""
    from theory import _cd
    lam = nonnegative("lam", lam)
    if penalty not in ("lasso", "nuclear"):
        raise ValueError(f"penalty: solve_cd handles 'lasso' and 'nuclear', got {penalty!r}")
    if d is None and penalty == "lasso":
        from theory.lasso_ws import lasso_working_set
        ws = lasso_working_set(x_hat, y, lam, tol=tol, max_sweeps=max_sweeps)
        return Solution(ws.v_hat, ws.objective, ws.iterations, ws.converged)
    d = d if d is not None else design(x_hat, y)
    C, H, W = d.shape
    G = np.ascontiguousarray(d.G)
    b = np.ascontiguousarray(d.b, dtype=complex)
    u = np.zeros_like(b)
    Gu = np.zeros_like(b)
    if penalty == "lasso":
        sweeps = _cd.cd_lasso(G, b, u, Gu, lam, tol, max_sweeps)
    else:
        rows = np.ascontiguousarray(np.arange(C * H * W).reshape(C, H * W).T)        # (HW, C)
        blocks = G[rows[:, :, None], rows[:, None, :]]                                 # (HW, C, C)
        a = np.maximum(np.linalg.eigvalsh(blocks)[:, -1], 1e-300)
        sweeps = _cd.bcd_nuclear(G, b, u, Gu, rows, a, lam, tol, max_sweeps, inner)
    v = conjugate_symmetrise(_u_to_v(u, d))
    return Solution(v, objective(d, v, lam, penalty), int(sweeps), bool(sweeps < max_sweeps))


def soft_threshold_diagonal(x_hat=None, y=None, lam: float = 0.0, d: Design | None = None) -> np.ndarray:
    """eq. A.6/A.7 (diagonal LASSO): ``|v_hat_cij| = max(|v_LS,cij| - lam / tau_cij, 0)`` with the phase of
    ``v_LS``: the exact LASSO solution when G is diagonal (eq. 4.17)."""
    lam = nonnegative("lam", lam)
    d = d if d is not None else design(x_hat, y)
    v_ls = ridge(lam=0.0, d=d)
    t = tau_uncentred(d)
    mod = np.abs(v_ls)
    return v_ls * np.maximum(1 - lam / (t * np.where(mod > 0, mod, 1.0)), 0.0)
