"""CenterNet-style single-class character detector: ResNet encoder, FPN decoder to stride 4,
heads for the centre heatmap (logits), box size (in input pixels / 16, log-free) and sub-cell offset."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers import BasicBlock, ConvBNAct
from ..registry import register_model

STRIDE = 4
SIZE_SCALE = 16.0  # size head predicts w/16, h/16 (input pixels)


class CenterNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 192), depths: tuple[int, ...] = (1, 2, 2, 2),
                 fpn: int = 64, head: int = 48, in_chans: int = 1):
        super().__init__()
        self.stem = nn.Sequential(ConvBNAct(in_chans, 16, 3, 2), ConvBNAct(16, widths[0], 3, 2))
        stages, cin = [], widths[0]
        for i, (w, d) in enumerate(zip(widths, depths)):
            blocks = [BasicBlock(cin, w, 1 if i == 0 else 2)] + [BasicBlock(w, w) for _ in range(d - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.lateral = nn.ModuleList(nn.Conv2d(w, fpn, 1) for w in widths)
        self.smooth = ConvBNAct(fpn, head, 3)
        self.heatmap = nn.Conv2d(head, 1, 1)
        self.size = nn.Conv2d(head, 2, 1)
        self.offset = nn.Conv2d(head, 2, 1)
        nn.init.constant_(self.heatmap.bias, -4.6)  # prior 0.01, as in CenterNet / focal loss

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.stem(x)
        feats = []
        for s in self.stages:
            x = s(x)
            feats.append(x)
        y = self.lateral[-1](feats[-1])
        for f, lat in zip(reversed(feats[:-1]), reversed(self.lateral[:-1])):
            y = F.interpolate(y, size=f.shape[-2:], mode="nearest") + lat(f)
        y = self.smooth(y)
        return self.heatmap(y), F.relu(self.size(y)), self.offset(y)


@register_model
def centernet_s(**kw) -> CenterNet:
    """The default detector: ~1.3M parameters, stride 4."""
    return CenterNet(**kw)


@register_model
def centernet_m(**kw) -> CenterNet:
    return CenterNet(widths=(48, 96, 160, 256), depths=(2, 2, 3, 2), fpn=96, head=64, **kw)
