"""The column reader: a CNN over a column strip (fixed width, any height) pooled across its width, a BiLSTM along
the column, and a linear layer to the classifier's vocabulary plus the CTC blank (class 0)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers import BasicBlock, ConvBNAct
from ..registry import register_model

STRIDE = 4  # strip pixels (height) per output step: about 5 steps a character


class CRNN(nn.Module):
    def __init__(self, num_classes: int, widths: tuple[int, ...] = (32, 64, 128, 192), hidden: int = 128,
                 in_chans: int = 1) -> None:
        super().__init__()
        self.stem = ConvBNAct(in_chans, widths[0], 3, 2)  # H/2, W/2
        self.features = nn.Sequential(BasicBlock(widths[0], widths[1], 2),  # H/4
                                      BasicBlock(widths[1], widths[2], 1),
                                      BasicBlock(widths[2], widths[3], 1))
        self.rnn = nn.LSTM(widths[3], hidden, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * hidden, num_classes + 1)  # + the CTC blank, index 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` strips -> ``(B, H / 4, num_classes + 1)`` logits along the column."""
        f = self.features(self.stem(x)).mean(3).transpose(1, 2)  # (B, T, C)
        return self.head(self.rnn(f)[0])


@register_model
def crnn_s(num_classes: int, **kw) -> CRNN:
    """The default column reader: ~1.3M parameters with 1,500 classes."""
    return CRNN(num_classes, **kw)
