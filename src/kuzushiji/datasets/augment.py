"""Glyph augmentations used by the seed projects: affine, elastic, stroke width, blur, noise,
contrast, random erasing (all on uint8 dark-on-light crops, numpy + OpenCV)."""
from __future__ import annotations

import cv2
import numpy as np


def augment_crop(img: np.ndarray, rng: np.random.Generator, strength: float = 1.0, lowres: float = 0.0) -> np.ndarray:
    """One augmented copy of a crop; ``lowres``: the probability of a low-resolution copy (down to 14-32 px and
    back, as a 28 px KMNIST glyph or a thumbnail-sized scan reaches the classifier)."""
    s = img.shape[0]
    bg = int(np.percentile(img, 90))
    # affine: rotation, scale, shear, translation (the translation doubles as detector box jitter)
    a = np.deg2rad(rng.normal(0, 6 * strength))
    sc = float(np.exp(rng.normal(0, 0.1 * strength)))
    sh = rng.normal(0, 0.1 * strength)
    asp = float(np.exp(rng.normal(0, 0.08 * strength)))
    M = np.array([[np.cos(a) * sc * asp, -np.sin(a) * sc + sh, 0], [np.sin(a) * sc, np.cos(a) * sc / asp, 0]], np.float32)
    c = np.array([s / 2, s / 2], np.float32)
    M[:, 2] = c - M[:, :2] @ c + rng.normal(0, 0.06 * strength * s, 2)
    out = cv2.warpAffine(img, M, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=bg)
    if rng.random() < 0.3 * strength:  # elastic distortion (Simard et al. 2003)
        d = rng.normal(0, 1, (2, 6, 6)).astype(np.float32) * s * 0.03 * strength
        dx = cv2.resize(d[0], (s, s), interpolation=cv2.INTER_CUBIC)
        dy = cv2.resize(d[1], (s, s), interpolation=cv2.INTER_CUBIC)
        gx, gy = np.meshgrid(np.arange(s, dtype=np.float32), np.arange(s, dtype=np.float32))
        out = cv2.remap(out, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    r = rng.random()
    if r < 0.15:
        out = cv2.erode(out, np.ones((2, 2), np.uint8))  # thicker ink
    elif r < 0.3:
        out = cv2.dilate(out, np.ones((2, 2), np.uint8))  # thinner ink
    x = out.astype(np.float32)
    x = (x - bg) * rng.uniform(0.6, 1.2) + bg + rng.uniform(-30, 30)
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.1))
    if lowres > 0 and rng.random() < lowres:
        r = int(rng.integers(14, 33))
        x = cv2.resize(cv2.resize(x, (r, r), interpolation=cv2.INTER_AREA), (s, s), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.4:
        x += rng.normal(0, rng.uniform(2, 12), x.shape).astype(np.float32)
    if rng.random() < 0.25 * strength:  # random erasing
        eh, ew = (int(rng.uniform(0.1, 0.35) * s) for _ in range(2))
        y0, x0 = rng.integers(0, s - eh), rng.integers(0, s - ew)
        x[y0: y0 + eh, x0: x0 + ew] = rng.uniform(0, 255)
    return np.clip(x, 0, 255).astype(np.uint8)


def augment_batch(imgs: np.ndarray, rng: np.random.Generator, strength: float = 1.0, lowres: float = 0.0) -> np.ndarray:
    return np.stack([augment_crop(i, rng, strength, lowres) for i in imgs])
