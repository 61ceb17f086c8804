"""EfficientNet b0-b7 (Tan & Le 2019) with their width/depth multipliers and input sizes."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..layers import ConvBNAct, L2Softmax, MBConv
from ..registry import register_model

# (expand, kernel, stride, channels, repeats) of b0
BASE = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
        (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
# name: (width, depth, input size, dropout)
VARIANTS = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
            "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
            "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}


def _round(c: float, div: int = 8) -> int:
    n = max(div, int(c + div / 2) // div * div)
    return n + div if n < 0.9 * c else n


class EfficientNet(nn.Module):
    def __init__(self, num_classes: int, width: float, depth: float, dropout: float, in_chans: int = 1,
                 l2_softmax: float = 0.0, drop_path: float = 0.2):
        super().__init__()
        stem = _round(32 * width)
        self.stem = ConvBNAct(in_chans, stem, 3, 2, act=nn.SiLU)
        blocks, cin = [], stem
        total = sum(math.ceil(r * depth) for *_, r in BASE)
        i = 0
        for e, k, s, c, r in BASE:
            cout = _round(c * width)
            for j in range(math.ceil(r * depth)):
                blocks.append(MBConv(cin, cout, k, s if j == 0 else 1, e, drop_path=drop_path * i / total))
                cin = cout
                i += 1
        self.blocks = nn.Sequential(*blocks)
        self.num_features = _round(1280 * width)
        self.top = ConvBNAct(cin, self.num_features, 1, act=nn.SiLU)
        self.drop = nn.Dropout(dropout)
        self.head = L2Softmax(self.num_features, num_classes, l2_softmax) if l2_softmax else nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.top(self.blocks(self.stem(x))).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.forward_features(x)))


def _make(variant: str):
    w, d, size, drop = VARIANTS[variant]

    def fn(num_classes: int, **kw) -> EfficientNet:
        return EfficientNet(num_classes, w, d, kw.pop("dropout", drop), **kw)

    fn.__name__ = f"efficientnet_{variant}"
    fn.__doc__ = f"EfficientNet-{variant.upper()}: default input {size}x{size}."
    fn.default_input_size = size
    return register_model(fn)


for _v in VARIANTS:
    globals()[f"efficientnet_{_v}"] = _make(_v)


def default_input_size(name: str) -> int:
    """The model's native input size (EfficientNet variants); 48 for the small CPU models."""
    if name.startswith("efficientnet_"):
        return VARIANTS[name.split("_")[1]][2]
    return 64 if name == "resnet18" else 48
