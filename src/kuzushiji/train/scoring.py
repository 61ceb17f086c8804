"""Scoring a classifier on crops: labels from codes, logits in batches, accuracy figures."""
from __future__ import annotations

import numpy as np
import torch

from ..inference.classifier import normalize_crops
from ..vocab import RARE
from .common import autocast


def to_labels(codes: np.ndarray, classes: list[str]) -> np.ndarray:
    """Class index per crop; -1 for codes outside the class list (unless grouped as 'rare')."""
    lut = {c: i for i, c in enumerate(classes)}
    rare = lut.get(RARE, -1)
    return np.array([lut.get(c, rare) for c in codes], np.int64)


@torch.no_grad()
def predict_logits(model, images: np.ndarray, device, precision="auto", batch: int = 512) -> np.ndarray:
    model.eval()
    outs = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(normalize_crops(images[i: i + batch])).to(device).contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            outs.append(model(x).float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, 1), np.float32)


def accuracy_report(logits: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """Top-1/top-5 accuracy, balanced accuracy, macro precision/recall over classes present."""
    known = labels >= 0
    pred = logits.argmax(1)
    top5 = np.argsort(-logits, 1)[:, :5]
    n = len(labels)
    acc = float((pred == labels).sum() / n) if n else 0.0  # unknown codes count as errors
    acc5 = float((top5 == labels[:, None]).any(1).sum() / n) if n else 0.0
    present = np.unique(labels[known])
    recalls = [float((pred[labels == k] == k).mean()) for k in present]
    precisions = [float((labels[pred == k] == k).mean()) for k in present if (pred == k).any()]
    return {"n": int(n), "in_classes": int(known.sum()), "accuracy": acc, "top5": acc5,
            "balanced_accuracy": float(np.mean(recalls)) if recalls else 0.0,
            "macro_precision": float(np.mean(precisions)) if precisions else 0.0,
            "macro_recall": float(np.mean(recalls)) if recalls else 0.0}
