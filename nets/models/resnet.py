"""Residual networks (paper Fig. 6): CIFAR ResNet-(6n+2) of He et al. 2016 and ResNet-9 (Page 2018)."""
from __future__ import annotations

import re

import torch
from torch import nn

from nets.models.registry import ModelSpec


def _norm(c: int, bn: bool) -> nn.Module:
    return nn.BatchNorm2d(c) if bn else nn.Identity()


class BasicBlock(nn.Module):
    """He et al. 2016 basic block (two 3x3 conv + BN), projection shortcut (1x1 conv + BN) when shapes change.
    ``skip=False``: no shortcut at all (a plain block); ``bn=False``: no BatchNorm, convolutions with biases,
    initialised Fixup-style (Zhang et al. 2019: the branch's last conv zero, its first scaled by
    ``fixup_scale``), so the block starts as the identity and trains without normalisation."""

    def __init__(self, a: int, b: int, stride: int, skip: bool = True, bn: bool = True, fixup_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(a, b, 3, stride, 1, bias=not bn), _norm(b, bn), nn.ReLU(),
                                  nn.Conv2d(b, b, 3, 1, 1, bias=not bn), _norm(b, bn))
        self.shortcut = None if not skip else nn.Identity() if stride == 1 and a == b else \
            nn.Sequential(nn.Conv2d(a, b, 1, stride, bias=not bn), _norm(b, bn))
        if not bn:
            with torch.no_grad():
                self.body[0].weight.mul_(fixup_scale)
                self.body[3].weight.zero_()
                for m in self.modules():
                    if isinstance(m, nn.Conv2d):
                        m.bias.zero_()

    def forward(self, x):
        out = self.body(x)
        return torch.relu(out if self.shortcut is None else out + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR ResNet-(6n+2) of He et al. 2016: w/2w/4w channels (published w = 16), n basic blocks per stage
    (ResNet-20: n=3, -56: n=9). The controls of issue 33 (is Fig. 6's exception the skips' or BatchNorm's?):
    ``skip=False`` removes every shortcut (BatchNorm kept); ``bn=False`` removes every BatchNorm (skips kept,
    Fixup initialisation: branch scale ``(3n)^(-1/2)``, the last conv of each branch and the classifier zero)."""

    def __init__(self, depth: int = 20, in_channels: int = 3, classes: int = 10, width: int = 16,
                 skip: bool = True, bn: bool = True):
        super().__init__()
        if (depth - 2) % 6 or depth < 8 or depth > 1202:
            raise ValueError(f"depth: CIFAR ResNets have depth 6n + 2 from 8 to 1202 (20, 32, 44, 56, ...), got {depth}")
        n = (depth - 2) // 6
        w0 = width
        layers, c = [nn.Conv2d(in_channels, w0, 3, 1, 1, bias=not bn), _norm(w0, bn), nn.ReLU()], w0
        for i, w in enumerate((w0, 2 * w0, 4 * w0)):
            for j in range(n):
                layers.append(BasicBlock(c, w, 2 if (j == 0 and i > 0) else 1, skip, bn, (3 * n) ** -0.5))
                c = w
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(4 * w0, classes)
        if not bn:
            with torch.no_grad():
                self.classifier.weight.zero_()
                self.classifier.bias.zero_()

    def forward(self, x):
        return self.classifier(self.features(x))


class ResNet9(nn.Module):
    """ResNet-9 (Page 2018, DAWNBench): prep w, [2w + pool + residual], [4w + pool], [8w + pool + residual]
    (published w = 64)."""

    def __init__(self, in_channels: int = 3, classes: int = 10, width: int = 64):
        super().__init__()
        def cbr(a, b, pool=False):
            return nn.Sequential(nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                                 *([nn.MaxPool2d(2)] if pool else []))
        w = width
        self.prep = cbr(in_channels, w)
        self.layer1, self.res1 = cbr(w, 2 * w, True), nn.Sequential(cbr(2 * w, 2 * w), cbr(2 * w, 2 * w))
        self.layer2 = cbr(2 * w, 4 * w, True)
        self.layer3, self.res3 = cbr(4 * w, 8 * w, True), nn.Sequential(cbr(8 * w, 8 * w), cbr(8 * w, 8 * w))
        self.head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8 * w, classes))

    def forward(self, x):
        x = self.layer1(self.prep(x))
        x = x + self.res1(x)
        x = self.layer3(self.layer2(x))
        x = x + self.res3(x)
        return self.head(x)


QUICK = dict(batch_size=128, lr=0.05, patience=2, max_epochs=4, n_train=3000, n_val=500, n_test=1000)
PAPER = dict(batch_size=512, lr=0.1, patience=20, max_epochs=500)


def build_cifar(width=16, in_channels=3, classes=10, name="resnet20", **_):
    m = re.fullmatch(r"resnet(\d+)(-noskip|-nobn)?", name)
    return CifarResNet(int(m.group(1)), in_channels, classes, width, skip=m.group(2) != "-noskip",
                       bn=m.group(2) != "-nobn")


def build_resnet9(width=64, in_channels=3, classes=10, **_):
    return ResNet9(in_channels, classes, width)


SPEC = ModelSpec("resnet20", build_cifar, "CIFAR ResNet-(6n+2): resnet20, resnet56, ... (He et al. 2016); "
                 "resnetN-noskip (no shortcuts), resnetN-nobn (no BatchNorm, Fixup init)",
                 quick=QUICK, paper=PAPER, pattern=r"resnet(?!9$)\d+(-noskip|-nobn)?", uses_width=True, default_width=16)
SPEC9 = ModelSpec("resnet9", build_resnet9, "ResNet-9 (Page 2018, DAWNBench)", quick=QUICK, paper=PAPER,
                  uses_width=True, default_width=64)
