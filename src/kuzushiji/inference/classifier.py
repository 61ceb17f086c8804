"""Classifier pre-processing (shared with training) and the ONNX-runtime classifier."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .session import open_session


def normalize_crops(crops: np.ndarray) -> np.ndarray:
    """uint8 ``(N, S, S)`` crops, dark ink on light paper -> float32 ``(N, 1, S, S)``.

    Each crop is standardised on its own (mean 0, unit spread) so paper tone and ink density
    of a scan matter less than the shape.
    """
    x = crops.astype(np.float32)
    m = x.mean(axis=(1, 2), keepdims=True)
    s = x.std(axis=(1, 2), keepdims=True) + 8.0
    return ((x - m) / s)[:, None]


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class OnnxClassifier:
    """Character classifier running an exported ONNX model; its class codes live in the model metadata."""

    def __init__(self, path: str | Path, threads: int = 0, batch: int = 256) -> None:
        self.session, meta = open_session(path, threads, ("codes", "input_size"))
        self.codes: list[str] = meta["codes"].split()
        self.size = int(meta["input_size"])
        self.batch = batch

    def logits(self, crops: np.ndarray) -> np.ndarray:
        out = [self.session.run(None, {"image": normalize_crops(crops[i: i + self.batch])})[0]
               for i in range(0, len(crops), self.batch)]
        return np.concatenate(out) if out else np.zeros((0, len(self.codes)), np.float32)

    def predict(self, crops: np.ndarray, restrict: list[str] | None = None) -> np.ndarray:
        """Class probabilities ``(N, C)``; with ``restrict``, other classes get probability 0."""
        z = self.logits(crops)
        if restrict:
            allowed = np.isin(np.array(self.codes), restrict)
            z = np.where(allowed[None], z, -1e9)
        return softmax(z)
