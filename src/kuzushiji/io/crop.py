"""Character crops: the one framing that training crops and recognition crops share."""
from __future__ import annotations

import cv2
import numpy as np

from ..structures import CharBox

TRAIN_PAD = 0.08  # training crops: padding around the box, a fraction of its longer side
READ_PAD = 0.02  # what the recognizer reads real boxes at (tighter reads better, bench/accuracy.py)


def crop_box(gray: np.ndarray, b: CharBox, size: int, rng: np.random.Generator | None = None,
             jitter: float = 0.0, pad: float = TRAIN_PAD) -> np.ndarray:
    """Square crop around a box (its longer side + padding), area-resized to ``size``; optional box jitter.
    The same function cuts training crops and recognition crops, so both see the same framing."""
    x, y, w, h = b.x, b.y, b.w, b.h
    if rng is not None and jitter > 0:
        x += rng.normal(0, jitter) * w
        y += rng.normal(0, jitter) * h
        w *= float(np.exp(rng.normal(0, jitter)))
        h *= float(np.exp(rng.normal(0, jitter)))
    s = max(2, int(round(max(w, h) * (1 + 2 * pad))))
    x0, y0 = int(round(x + w / 2 - s / 2)), int(round(y + h / 2 - s / 2))
    H, W = gray.shape
    roi = gray[max(0, y0): max(0, y0 + s), max(0, x0): max(0, x0 + s)]
    if roi.shape != (s, s):
        if roi.size == 0:
            return np.full((size, size), int(np.median(gray[::8, ::8])), np.uint8)
        top, left = max(0, -y0), max(0, -x0)
        roi = cv2.copyMakeBorder(roi, top, s - roi.shape[0] - top, left, s - roi.shape[1] - left, cv2.BORDER_REPLICATE)
    return cv2.resize(roi, (size, size), interpolation=cv2.INTER_AREA)
