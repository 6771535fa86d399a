"""ConvActually (paper Section 5, appendix C.5 (a)): full-size circular convolutions with bias and ReLU,
then a linear classifier; the CNN that most closely approximates eq. 3.1."""
from __future__ import annotations

from torch import nn

from nets.models.layers import full_conv
from nets.models.registry import ModelSpec


class ConvActually(nn.Module):
    """``depth - 1`` full-size circular conv layers (bias, ReLU), then flatten and a linear layer (appendix C.5 (a)).

    depth = 1 is a plain linear classifier. Width 64 as in the paper. Each conv block has
    ``width * C_in * H * W + width`` parameters (196,672 for the first block on 3x32x32).
    """

    def __init__(self, depth: int = 4, width: int = 64, in_channels: int = 3, classes: int = 10,
                 size=(32, 32), impl: str = "fft"):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth: expected an integer >= 1, got {depth}")
        layers, c = [], in_channels
        for _ in range(depth - 1):
            layers += [full_conv(c, width, size, True, impl), nn.ReLU()]
            c = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c * size[0] * size[1], classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def build(depth=None, width=64, in_channels=3, classes=10, size=(32, 32), impl="fft", **_):
    return ConvActually(depth or 4, width, in_channels, classes, size, impl)


# appendix C.5: batch 1028 in the text, 1024 in the released code. quick: Adam (coupled L2, the same objective)
# at lr 1e-4, because SGD with momentum 0.9 diverged or stalled at depth >= 3 in a 10-epoch CPU budget
SPEC = ModelSpec("convactually", build, "ConvActually: depth-1 full-size circular conv layers + linear (App. C.5a)",
                 quick=dict(batch_size=128, lr=1e-4, optimizer="adam", patience=1, max_epochs=10, n_train=2500,
                            n_val=500, n_test=2000, width=16),
                 paper=dict(batch_size=1024, lr=1e-4, patience=50, max_epochs=500),
                 uses_depth=True, uses_width=True, default_width=64, full_size=True)
