"""MyrtleCNN (Page 2018; appendix C.5 (b)): small kernels, ReLU, max-pooling, channels doubling."""
from __future__ import annotations

from torch import nn

from nets.models.registry import ModelSpec


class MyrtleCNN(nn.Module):
    """The 5-layer Myrtle CNN of appendix C.5 (b) (Page 2018): channels w, 2w, 4w, 8w (w = ``width``);
    1,556,106 parameters on 3x32x32 at the published w = 64."""

    def __init__(self, in_channels: int = 3, classes: int = 10, width: int = 64):
        super().__init__()
        def block(a, b, pool):
            return [nn.Conv2d(a, b, 3, padding=1), nn.ReLU()] + ([nn.MaxPool2d(2)] if pool else [])
        w = width
        self.features = nn.Sequential(*block(in_channels, w, False), *block(w, 2 * w, True), *block(2 * w, 4 * w, True),
                                      *block(4 * w, 8 * w, True), nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(8 * w, classes)

    def forward(self, x):
        return self.classifier(self.features(x))


def build(width=64, in_channels=3, classes=10, **_):
    return MyrtleCNN(in_channels, classes, width)


SPEC = ModelSpec("myrtle", build, "MyrtleCNN: 5 conv layers, 1.56M parameters (App. C.5b)",
                 quick=dict(batch_size=128, lr=0.02, patience=2, max_epochs=4, n_train=3000, n_val=500, n_test=1000),
                 paper=dict(batch_size=512, lr=1e-4, patience=20, max_epochs=500), uses_width=True, default_width=64)
