"""Full-batch L-BFGS (strong Wolfe) to tight tolerances: the one minimiser behind the torch fits in
theory.factor_min, theory.equivalence and nets.compare."""
from __future__ import annotations


def lbfgs(params, objective, max_iter: int = 3000, history: int = 100, tolerance_grad: float = 1e-13):
    """Minimise ``objective()`` (a scalar tensor built from ``params``) in place; returns the optimizer."""
    import torch
    opt = torch.optim.LBFGS(params, lr=1, max_iter=max_iter, history_size=history, tolerance_grad=tolerance_grad,
                            tolerance_change=1e-16, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        val = objective()
        val.backward()
        return val

    opt.step(closure)
    return opt
