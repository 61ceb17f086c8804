"""The seed projects' simple models: the KMNIST baseline CNN and a fully convolutional net."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers import ConvBNAct
from ..registry import register_model


class BaselineCNN(nn.Module):
    """KMNIST's Keras baseline: conv32-conv64-maxpool-dropout-fc128-dropout-fc (any input size)."""

    def __init__(self, num_classes: int, in_chans: int = 1, **_):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_chans, 32, 3), nn.ReLU(True), nn.Conv2d(32, 64, 3), nn.ReLU(True),
                                      nn.MaxPool2d(2), nn.Dropout(0.25), nn.AdaptiveAvgPool2d(12))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 144, 128), nn.ReLU(True), nn.Dropout(0.5),
                                  nn.Linear(128, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class FCN(nn.Module):
    """Fully convolutional classifier: conv-BN blocks, global average pooling, 1x1 class map."""

    def __init__(self, num_classes: int, in_chans: int = 1, width: int = 64, **_):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            ConvBNAct(in_chans, w), ConvBNAct(w, w), nn.MaxPool2d(2),
            ConvBNAct(w, 2 * w), ConvBNAct(2 * w, 2 * w), nn.MaxPool2d(2),
            ConvBNAct(2 * w, 4 * w), ConvBNAct(4 * w, 4 * w), nn.Dropout(0.2))
        self.classifier = nn.Conv2d(4 * w, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).mean((2, 3))


@register_model
def baseline_cnn(num_classes: int, **kw) -> BaselineCNN:
    return BaselineCNN(num_classes, **kw)


@register_model
def fcn(num_classes: int, **kw) -> FCN:
    return FCN(num_classes, **kw)
