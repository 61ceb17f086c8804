"""Small CPU-fast ResNets for character crops (the default classifier) and a ResNet-18 layout."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers import BasicBlock, ConvBNAct, L2Softmax
from ..registry import register_model


class ResNet(nn.Module):
    def __init__(self, num_classes: int, widths=(32, 64, 128, 256), depths=(1, 1, 1, 1), in_chans: int = 1,
                 stem_stride: int = 2, l2_softmax: float = 0.0, dropout: float = 0.1):
        super().__init__()
        self.stem = ConvBNAct(in_chans, widths[0], 3, stem_stride)
        layers, cin = [], widths[0]
        for i, (w, d) in enumerate(zip(widths, depths)):
            layers += [BasicBlock(cin, w, 1 if i == 0 else 2)] + [BasicBlock(w, w) for _ in range(d - 1)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.num_features = cin
        self.drop = nn.Dropout(dropout)
        self.head = L2Softmax(cin, num_classes, l2_softmax) if l2_softmax else nn.Linear(cin, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.stem(x)).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.forward_features(x)))


@register_model
def resnet_s(num_classes: int, **kw) -> ResNet:
    """Default: 48x48 input, stride-2 stem, 4 stages (24-12-6-3), ~35M multiply-adds per crop."""
    return ResNet(num_classes, **kw)


@register_model
def resnet_xs(num_classes: int, **kw) -> ResNet:
    """Narrower (24-48-96-192): ~20M multiply-adds per crop, for the fastest CPUs runs."""
    return ResNet(num_classes, widths=(24, 48, 96, 192), **kw)


@register_model
def resnet_m(num_classes: int, **kw) -> ResNet:
    """Wider (48-96-192-384): ~1.7x resnet_s's time, 3.3M parameters with 1,500 classes."""
    return ResNet(num_classes, widths=(48, 96, 192, 384), **kw)


@register_model
def resnet18(num_classes: int, **kw) -> ResNet:
    return ResNet(num_classes, widths=(64, 128, 256, 512), depths=(2, 2, 2, 2), **kw)
