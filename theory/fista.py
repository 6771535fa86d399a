"""Accelerated proximal gradient (FISTA) with backtracking and adaptive restart (O'Donoghue & Candes 2015):
the loop behind ``theory.regression.solve``, written once for any smooth part, penalty and prox."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def largest_eigenvalue(op: Callable[[np.ndarray], np.ndarray], q: np.ndarray, iterations: int = 50) -> float:
    """``max Re <q, op(q)>`` over unit ``q`` by power iteration from ``q`` (``op`` Hermitian positive
    semi-definite): the Lipschitz constant of a quadratic's gradient, for the first step size."""
    for _ in range(iterations):
        q = op(q)
        q /= np.linalg.norm(q)
    return float(np.real(np.sum(np.conj(q) * op(q))))


def fista(smooth: Callable, penalty: Callable, prox: Callable, w: np.ndarray, step: float, tol: float,
          max_iter: int, monotone: bool = False) -> tuple[np.ndarray, int, bool]:
    """Minimise ``f(w) + g(w)``: ``smooth(w) -> (f, grad f)`` (Wirtinger gradient for complex ``w``),
    ``penalty(w) -> g(w)``, ``prox(v, t)`` the proximal map of ``t g`` at ``v``. The step halves until the
    quadratic upper bound holds at the new point; momentum restarts when the objective goes up, and is off
    for ``monotone`` (a non-convex ``g``: a monotone proximal-gradient local method). Stops when the relative
    objective change stays below ``tol`` for 20 iterations. Returns ``(w, iterations, converged)``."""
    z, t_mom = w.copy(), 1.0
    f_w = smooth(w)[0] + penalty(w)
    small, it, converged = 0, 0, False
    for it in range(1, max_iter + 1):
        fz, gz = smooth(z)
        while True:  # backtracking on the quadratic upper bound
            w_new = prox(z - step * gz, step)
            diff = w_new - z
            f_new_s = smooth(w_new)[0]
            if f_new_s <= fz + np.real(np.sum(np.conj(gz) * diff)) + np.sum(np.abs(diff) ** 2) / (2 * step) + 1e-15 * abs(fz):
                break
            step /= 2
        f_new = f_new_s + penalty(w_new)
        if monotone or f_new > f_w:      # restart momentum when the objective goes up
            t_mom = 1.0
        t_next = (1 + np.sqrt(1 + 4 * t_mom ** 2)) / 2
        z = w_new + (0.0 if monotone else (t_mom - 1) / t_next) * (w_new - w)
        small = small + 1 if abs(f_w - f_new) <= tol * max(abs(f_new), 1e-300) else 0
        if f_new <= f_w or not monotone:
            w, f_w = w_new, f_new
        t_mom = t_next
        if small >= 20:
            converged = True
            break
    return w, it, converged
