"""Detector pre/post-processing in numpy, and the ONNX-runtime detector."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError
from .session import open_session

STRIDE = 4
SIZE_SCALE = 16.0


def preprocess(gray: np.ndarray, height: int) -> tuple[np.ndarray, float]:
    """Resize a grayscale page to ``height`` (width padded to a multiple of 32) and normalise.
    Returns ``(1x1xHxW float32, scale)`` with ``scale`` = model pixels per page pixel."""
    scale = height / gray.shape[0]
    w = max(32, int(round(gray.shape[1] * scale)))
    small = cv2.resize(gray, (w, height), interpolation=cv2.INTER_AREA)
    pw = (-w) % 32
    ph = (-height) % 32
    if pw or ph:
        small = cv2.copyMakeBorder(small, 0, ph, 0, pw, cv2.BORDER_REPLICATE)
    x = (small.astype(np.float32) - 128.0) * (1 / 64.0)
    return x[None, None], scale


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def decode(heat: np.ndarray, size: np.ndarray, offset: np.ndarray, scale: float = 1.0,
           threshold: float = 0.3, topk: int = 1200) -> np.ndarray:
    """Peaks of the centre heatmap -> ``(N, 5)`` boxes ``x, y, w, h, score`` in page pixels.

    ``heat`` (1xhxw logits), ``size`` and ``offset`` (2xhxw) are one image's head outputs.
    """
    h = sigmoid(heat[0].astype(np.float32))
    peaks = (h == cv2.dilate(h, np.ones((3, 3), np.uint8))) & (h >= threshold)
    ys, xs = np.nonzero(peaks)
    scores = h[ys, xs]
    if len(scores) > topk:
        keep = np.argsort(-scores)[:topk]
        ys, xs, scores = ys[keep], xs[keep], scores[keep]
    cx = (xs + offset[0, ys, xs]) * STRIDE
    cy = (ys + offset[1, ys, xs]) * STRIDE
    bw = np.maximum(size[0, ys, xs] * SIZE_SCALE, 2.0)  # never a degenerate box
    bh = np.maximum(size[1, ys, xs] * SIZE_SCALE, 2.0)
    out = np.stack([cx - bw / 2, cy - bh / 2, bw, bh, scores], 1).astype(np.float32)
    out[:, :4] /= scale
    return out[np.argsort(-out[:, 4])]


class OnnxDetector:
    """Character detector running an exported ONNX model with onnxruntime."""

    def __init__(self, path: str | Path, height: int = 1024, threshold: float = 0.3, threads: int = 0) -> None:
        self.session, meta = open_session(path, threads)
        if "codes" in meta:
            raise DataError(path, "this ONNX model is a classifier, not a detector")
        self.height = int(meta.get("height", height))
        self.threshold = float(meta.get("threshold", threshold))

    def raw(self, gray: np.ndarray) -> tuple[list[np.ndarray], float]:
        x, scale = preprocess(gray, self.height)
        return self.session.run(None, {"image": x}), scale

    def __call__(self, gray: np.ndarray, threshold: float | None = None) -> np.ndarray:
        (heat, size, off), scale = self.raw(gray)
        return decode(heat[0], size[0], off[0], scale, self.threshold if threshold is None else threshold)
