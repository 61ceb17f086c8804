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

    def raw(self, gray: np.ndarray, height: int | None = None) -> tuple[list[np.ndarray], float]:
        x, scale = preprocess(gray, height or self.height)
        return self.session.run(None, {"image": x}), scale

    def __call__(self, gray: np.ndarray, threshold: float | None = None, scales: tuple[float, ...] = (1.0,),
                 shifts: tuple[float, ...] = (0.0,)) -> np.ndarray:
        """Boxes ``(N, 5)``: ``x, y, w, h, score``. With several ``scales`` (of the working height) or
        horizontal ``shifts`` the page is detected at each and the boxes fused (:func:`fuse_boxes`) before
        thresholding."""
        t = self.threshold if threshold is None else threshold
        if tuple(scales) == (1.0,) and tuple(shifts) == (0.0,):
            return self.runs(gray, t)[0]
        fused = fuse_boxes(self.runs(gray, 0.5 * t, scales, shifts))
        return fused[fused[:, 4] >= t]

    def runs(self, gray: np.ndarray, threshold: float, scales: tuple[float, ...] = (1.0,),
             shifts: tuple[float, ...] = (0.0,)) -> list[np.ndarray]:
        """One decoded detection per scale and shift, each kept down to ``threshold`` (for fusing several runs).
        A shift moves the page right by that fraction of the output stride (the heatmap's grid falls elsewhere)."""
        out = []
        for s in scales:
            height = self.height if s == 1.0 else max(256, int(round(self.height * s / 32)) * 32)
            for shift in shifts:
                pad = int(round(shift * STRIDE * gray.shape[0] / height))
                page = cv2.copyMakeBorder(gray, 0, 0, pad, 0, cv2.BORDER_REPLICATE) if pad else gray
                (heat, size, off), scale = self.raw(page, height)
                boxes = decode(heat[0], size[0], off[0], scale, threshold)
                boxes[:, 0] -= pad
                out.append(boxes)
        return out


def fuse_boxes(runs: list[np.ndarray], iou: float = 0.55) -> np.ndarray:
    """Weighted box fusion of several detections of one page: boxes of different runs overlapping by
    ``iou`` or more form a cluster (greedily, highest score first); the fused box is the score-weighted
    mean, its score the scores' sum over the number of runs (a box seen in one run only is discounted)."""
    allb = np.concatenate([r for r in runs if len(r)]) if any(len(r) for r in runs) else np.zeros((0, 5), np.float32)
    if len(allb) == 0:
        return allb
    allb = allb[np.argsort(-allb[:, 4])]
    x0, y0 = allb[:, 0], allb[:, 1]
    x1, y1 = x0 + allb[:, 2], y0 + allb[:, 3]
    area = allb[:, 2] * allb[:, 3]
    free = np.ones(len(allb), bool)
    out = []
    for i in range(len(allb)):
        if not free[i]:
            continue
        iw = np.clip(np.minimum(x1[i], x1) - np.maximum(x0[i], x0), 0, None)
        ih = np.clip(np.minimum(y1[i], y1) - np.maximum(y0[i], y0), 0, None)
        inter = iw * ih
        members = free & (inter / (area[i] + area - inter + 1e-9) >= iou)
        free &= ~members
        w = allb[members, 4:5]
        box = (allb[members, :4] * w).sum(0) / w.sum()
        out.append([*box, float(w.sum()) / len(runs)])
    fused = np.array(out, np.float32)
    return fused[np.argsort(-fused[:, 4])]


def drop_nested(boxes: np.ndarray, overlap: float = 0.6) -> np.ndarray:
    """``boxes`` (x, y, w, h, score) without those nested with a higher-scoring kept box (the smaller of the two
    lies ``overlap`` or more, a share of its area, inside the other): one character found twice, whole and in
    part. Labelled pages hardly ever nest boxes: 14 pairs at 0.6 among the 18,035 boxes of the two CODH books in
    shared/data (codh_coordinates_text_only)."""
    if len(boxes) < 2:
        return boxes
    b = boxes[np.argsort(-boxes[:, 4], kind="stable")]
    x0, y0, area = b[:, 0], b[:, 1], b[:, 2] * b[:, 3]
    x1, y1 = x0 + b[:, 2], y0 + b[:, 3]
    keep = np.ones(len(b), bool)
    for i in range(len(b)):
        if not keep[i]:
            continue
        iw = np.clip(np.minimum(x1[i], x1[i + 1:]) - np.maximum(x0[i], x0[i + 1:]), 0, None)
        ih = np.clip(np.minimum(y1[i], y1[i + 1:]) - np.maximum(y0[i], y0[i + 1:]), 0, None)
        share = iw * ih / np.maximum(np.minimum(area[i], area[i + 1:]), 1e-9)
        keep[i + 1:] &= share < overlap
    return b[keep]
