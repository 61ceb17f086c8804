"""Classifier pre-processing (shared with training) and the ONNX-runtime classifier."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..vocab import JIBO_WEIGHT, reading_weights
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
    """Character classifier running an exported ONNX model; its class codes live in the model metadata.
    Models exported with a ``features`` output can also give each crop's unit-length feature vector."""

    def __init__(self, path: str | Path, threads: int = 0, batch: int = 256) -> None:
        self.path = Path(path)
        self.session, meta = open_session(path, threads, ("codes", "input_size"))
        self.codes: list[str] = meta["codes"].split()
        self.size = int(meta["input_size"])
        self.batch = batch
        self.has_features = "features" in [o.name for o in self.session.get_outputs()]
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """The model file's SHA-256 (first 16 hex digits): what a glyph memory was built with."""
        if self._fingerprint is None:
            self._fingerprint = hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
        return self._fingerprint

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits ``(N, C)`` and, when the model has them, L2-normalised features ``(N, D)``."""
        names = ["logits", "features"] if self.has_features else None
        outs = [self.session.run(names, {"image": normalize_crops(crops[i: i + self.batch])})
                for i in range(0, len(crops), self.batch)]
        if not outs:
            return np.zeros((0, len(self.codes)), np.float32), None
        z = np.concatenate([o[0] for o in outs])
        if not self.has_features:
            return z, None
        f = np.concatenate([o[1] for o in outs]).astype(np.float32)
        return z, f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-6)

    def logits(self, crops: np.ndarray) -> np.ndarray:
        return self.run(crops)[0]

    def predict(self, crops: np.ndarray, restrict: list[str] | None = None) -> np.ndarray:
        """Class probabilities ``(N, C)``. With ``restrict``, only those classes keep a probability: what the
        crop reads as among them (:func:`~kuzushiji.vocab.reading_weights`: a class counts toward the restricted
        character it reads as, and a 字母 kanji weakly toward its kana), renormalised."""
        p = softmax(self.logits(crops))
        if not restrict:
            return p
        targets = [c for c in dict.fromkeys(restrict) if c in self.codes]
        out = np.zeros_like(p)
        out[:, [self.codes.index(c) for c in targets]] = self.read_as(p, targets)
        return out

    def read_as(self, probs: np.ndarray, targets: list[str], jibo_weight: float = JIBO_WEIGHT) -> np.ndarray:
        """``(N, len(targets))``: class probabilities read as the target characters, renormalised."""
        q = probs @ reading_weights(self.codes, targets, jibo_weight)
        return q / np.maximum(q.sum(1, keepdims=True), 1e-12)
