"""LinearCNN: exactly eq. 3.1 with the FFT layers; its end-to-end predictor comes from ``theory.linear_cnn``
(one set of constants), and :func:`fit_weights` is the trainer ``theory.equivalence.compare`` calls to
compare this network with the convex optimum (Theorem 4.9)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nets.models.layers import conv_weight_to_eq32, full_conv
from nets.models.registry import ModelSpec


class LinearCNN(nn.Module):
    """Exactly eq. 3.1: ``L - 1`` full-size circular convolutions without bias or activation, then the
    contraction of eq. 3.3 (a bias-free linear layer on the flattened map). ``channels = (C, C_1, ..., K)``."""

    def __init__(self, channels=(3, 64, 10), size=(32, 32), impl: str = "fft"):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or min(channels) < 1:
            raise ValueError(f"channels: expected (C, C_1, ..., K) with >= 2 positive entries, got {channels}")
        self.channels, self.size = channels, tuple(size)
        self.convs = nn.ModuleList(full_conv(a, b, size, False, impl) for a, b in zip(channels[:-2], channels[1:-1]))
        self.head = nn.Linear(channels[-2] * size[0] * size[1], channels[-1], bias=False)

    def forward(self, x):
        for conv in self.convs:
            x = conv(x)
        return self.head(x.flatten(1))

    def theory_weights(self) -> list[np.ndarray]:
        """The weights as ``theory.linear_cnn`` expects them: eq. 3.2 kernels (the layers are cross-
        correlations, converted exactly by ``conv_weight_to_eq32``) and the eq. 3.3 contraction."""
        ws = [conv_weight_to_eq32(c.weight.detach().double().cpu().numpy()) for c in self.convs]
        K, C = self.channels[-1], self.channels[-2]
        return ws + [self.head.weight.detach().double().cpu().numpy().reshape(K, C, *self.size)]

    def v_hat(self) -> np.ndarray:
        """End-to-end Fourier predictor (Lemma 4.3, exact constants) via ``theory.linear_cnn.v_hat``: ``(K, C, H, W)``."""
        from theory.linear_cnn import v_hat
        return v_hat(self.theory_weights())


def fit_weights(x, y, channels, lam: float, loss: str = "cross_entropy", seed: int = 0, max_iter: int = 2000,
                restarts: int = 1):
    """Train :class:`LinearCNN` (float64, full batch, L-BFGS) on ``mean loss + lam sum |w|^2`` (eq. 4.1's
    lambda; torch's ``weight_decay`` would be ``2 lam``); returns ``theory.equivalence.Trained`` with the
    weights in eq. 3.2 form. x: ``(N, C, H, W)``; y: labels ``(N,)``. The signature is the ``fit`` hook of
    ``theory.equivalence.compare`` (``restarts`` is unused: one seeded start)."""
    from theory.equivalence import Trained
    from theory.optim import lbfgs
    if loss != "cross_entropy":
        raise ValueError(f"loss: the network trainer takes 'cross_entropy', got {loss!r}")
    H, W = np.shape(x)[-2:]
    torch.manual_seed(seed)
    model = LinearCNN(tuple(channels), (H, W)).double()
    xt, yt = torch.tensor(np.asarray(x), dtype=torch.float64), torch.tensor(np.asarray(y), dtype=torch.long)
    params = [p for p in model.parameters() if p.requires_grad]

    def objective():
        return nn.functional.cross_entropy(model(xt), yt) + lam * sum((p ** 2).sum() for p in params)

    opt = lbfgs(params, objective, max_iter, tolerance_grad=1e-12)
    with torch.no_grad():
        value = float(objective())
    return Trained(model.theory_weights(), value, int(opt.state[opt._params[0]]["n_iter"]))


def build(depth=None, width=64, in_channels=3, classes=10, size=(32, 32), impl="fft", **_):
    L = depth or 2
    return LinearCNN((in_channels,) + (width,) * (L - 1) + (classes,), size, impl)


SPEC = ModelSpec("linearcnn", build, "LinearCNN: eq. 3.1 exactly (no bias, no activation)",
                 quick=dict(batch_size=128, lr=3e-4, patience=2, max_epochs=6, n_train=4000, n_val=1000,
                            n_test=2000, width=8),
                 paper=dict(batch_size=1024, lr=1e-4, patience=50, max_epochs=500),
                 uses_depth=True, uses_width=True, default_width=64, full_size=True)
