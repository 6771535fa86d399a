"""Models: ConvActually, LinearCNN (eq. 3.1), MyrtleCNN and CIFAR ResNets (appendix C.5).

All take ``(B, C, H, W)`` float images and return ``(B, K)`` logits. ``build_model(name, ...)`` is the
registry used by training and the CLIs.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nets.layers import FFTCircularConv2d, conv_weight_to_eq32


def full_conv(c_in: int, c_out: int, size, bias: bool, impl: str = "fft") -> nn.Module:
    """A full-size circular convolution: the FFT layer (default) or the equivalent nn.Conv2d."""
    if impl == "fft":
        return FFTCircularConv2d(c_in, c_out, size, bias=bias)
    if impl == "direct":
        return nn.Conv2d(c_in, c_out, size, padding="same", padding_mode="circular", bias=bias)
    raise ValueError(f"impl: expected 'fft' or 'direct', got {impl!r}")


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


class MyrtleCNN(nn.Module):
    """The 5-layer Myrtle CNN of appendix C.5 (b) (Page 2018): 1,556,106 parameters on 3x32x32."""

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


class BasicBlock(nn.Module):
    """He et al. 2016 basic block (two 3x3 conv + BN), projection shortcut (1x1 conv + BN) when shapes change."""

    def __init__(self, a: int, b: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(a, b, 3, stride, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                                  nn.Conv2d(b, b, 3, 1, 1, bias=False), nn.BatchNorm2d(b))
        self.shortcut = nn.Identity() if stride == 1 and a == b else \
            nn.Sequential(nn.Conv2d(a, b, 1, stride, bias=False), nn.BatchNorm2d(b))

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR ResNet-(6n+2) of He et al. 2016: 16/32/64 channels, n basic blocks per stage (ResNet-20: n=3, -56: n=9)."""

    def __init__(self, depth: int = 20, in_channels: int = 3, classes: int = 10):
        super().__init__()
        if (depth - 2) % 6 or depth < 8:
            raise ValueError(f"depth: CIFAR ResNets have depth 6n + 2 (20, 32, 44, 56, ...), got {depth}")
        n = (depth - 2) // 6
        layers, c = [nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
        for i, w in enumerate((16, 32, 64)):
            for j in range(n):
                layers.append(BasicBlock(c, w, 2 if (j == 0 and i > 0) else 1))
                c = w
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(64, classes)

    def forward(self, x):
        return self.classifier(self.features(x))


class ResNet9(nn.Module):
    """ResNet-9 (Page 2018, DAWNBench): prep 64, [128 + pool + residual], [256 + pool], [512 + pool + residual]."""

    def __init__(self, in_channels: int = 3, classes: int = 10):
        super().__init__()
        def cbr(a, b, pool=False):
            return nn.Sequential(nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                                 *([nn.MaxPool2d(2)] if pool else []))
        self.prep = cbr(in_channels, 64)
        self.layer1, self.res1 = cbr(64, 128, True), nn.Sequential(cbr(128, 128), cbr(128, 128))
        self.layer2 = cbr(128, 256, True)
        self.layer3, self.res3 = cbr(256, 512, True), nn.Sequential(cbr(512, 512), cbr(512, 512))
        self.head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(512, classes))

    def forward(self, x):
        x = self.layer1(self.prep(x))
        x = x + self.res1(x)
        x = self.layer3(self.layer2(x))
        x = x + self.res3(x)
        return self.head(x)


MODELS = ("convactually", "linearcnn", "myrtle", "resnet20", "resnet56", "resnet9")


def build_model(name: str, depth: int | None = None, width: int = 64, in_channels: int = 3, classes: int = 10,
                size=(32, 32), impl: str = "fft") -> nn.Module:
    """Registry: ``convactually`` (depth, width), ``linearcnn`` (depth = L, width = inner channels), ``myrtle``,
    ``resnet20``, ``resnet56``, ``resnetN`` (N = 6n + 2), ``resnet9``."""
    if name == "convactually":
        return ConvActually(depth or 4, width, in_channels, classes, size, impl)
    if name == "linearcnn":
        L = depth or 2
        return LinearCNN((in_channels,) + (width,) * (L - 1) + (classes,), size, impl)
    if name == "myrtle":
        return MyrtleCNN(in_channels, classes)
    if name == "resnet9":
        return ResNet9(in_channels, classes)
    if name.startswith("resnet") and name[6:].isdigit():
        return CifarResNet(int(name[6:]), in_channels, classes)
    raise ValueError(f"model: unknown name {name!r}; expected one of {', '.join(MODELS)} (or resnet6n+2)")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
