"""Detection training samples: pages held in memory at the working height, random scaled crops,
CenterNet targets (Gaussian centre heatmap, box size, sub-cell offset)."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

from ..inference.detector import SIZE_SCALE, STRIDE
from ..io.image import load_image
from .pages import PageRecord


@dataclass
class MemPage:
    image_id: str
    gray: np.ndarray  # working-height grayscale page
    boxes: np.ndarray  # (N, 4) x, y, w, h in working-height pixels
    scale: float  # working pixels per original pixel


def load_mem_pages(records: list[PageRecord], height: int, desc: str = "load pages") -> list[MemPage]:
    out = []
    for r in tqdm(records, desc=desc, leave=False):
        g = load_image(r.image_path, "L")
        s = height / g.shape[0]
        g = cv2.resize(g, (max(8, round(g.shape[1] * s)), height), interpolation=cv2.INTER_AREA)
        b = np.array([[bx.x, bx.y, bx.w, bx.h] for bx in r.boxes], np.float32).reshape(-1, 4) * s
        out.append(MemPage(r.image_id, g, b, s))
    return out


def draw_targets(boxes: np.ndarray, out_h: int, out_w: int, max_objs: int = 512):
    """CenterNet targets for boxes given in crop pixels."""
    heat = np.zeros((out_h, out_w), np.float32)
    size = np.zeros((max_objs, 2), np.float32)
    offset = np.zeros((max_objs, 2), np.float32)
    index = np.zeros(max_objs, np.int64)
    mask = np.zeros(max_objs, np.float32)
    k = 0
    for x, y, w, h in boxes:
        cx, cy = (x + w / 2) / STRIDE, (y + h / 2) / STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < out_w and 0 <= iy < out_h):
            continue
        sx, sy = max(0.5, w / STRIDE / 6), max(0.5, h / STRIDE / 6)  # anisotropic Gaussian (TTFNet-style)
        rx, ry = int(3 * sx) + 1, int(3 * sy) + 1
        x0, x1, y0, y1 = max(0, ix - rx), min(out_w, ix + rx + 1), max(0, iy - ry), min(out_h, iy + ry + 1)
        gx = np.exp(-((np.arange(x0, x1) - ix) ** 2) / (2 * sx * sx))
        gy = np.exp(-((np.arange(y0, y1) - iy) ** 2) / (2 * sy * sy))
        np.maximum(heat[y0:y1, x0:x1], gy[:, None] * gx[None, :], out=heat[y0:y1, x0:x1])
        if k < max_objs:
            size[k] = (w / SIZE_SCALE, h / SIZE_SCALE)
            offset[k] = (cx - ix, cy - iy)
            index[k] = iy * out_w + ix
            mask[k] = 1
            k += 1
    return heat[None], size, offset, index, mask


def random_crop(page: MemPage, crop: int, rng: np.random.Generator, scale_range=(0.7, 1.35)):
    """A ``crop`` x ``crop`` window at a random scale; boxes whose centre falls outside are dropped."""
    s = float(np.exp(rng.uniform(*np.log(scale_range))))
    win = crop / s
    H, W = page.gray.shape
    if len(page.boxes) and rng.random() < 0.8:  # centre on text most of the time
        b = page.boxes[rng.integers(len(page.boxes))]
        cx, cy = b[0] + b[2] / 2 + rng.normal(0, win / 4), b[1] + b[3] / 2 + rng.normal(0, win / 4)
    else:
        cx, cy = rng.uniform(0, W), rng.uniform(0, H)
    x0, y0 = cx - win / 2, cy - win / 2
    M = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], np.float32)
    img = cv2.warpAffine(page.gray, M, (crop, crop), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=int(np.median(page.gray[::16, ::16])))
    b = page.boxes.copy()
    b[:, 0] = (b[:, 0] - x0) * s
    b[:, 1] = (b[:, 1] - y0) * s
    b[:, 2:] *= s
    c = b[:, :2] + b[:, 2:] / 2
    keep = (c[:, 0] >= 0) & (c[:, 0] < crop) & (c[:, 1] >= 0) & (c[:, 1] < crop)
    return img, b[keep]


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = img.astype(np.float32)
    x = (x - x.mean()) * rng.uniform(0.7, 1.3) + x.mean() + rng.uniform(-25, 25)
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.3:
        x += rng.normal(0, rng.uniform(2, 8), x.shape).astype(np.float32)
    if rng.random() < 0.2:
        g = rng.uniform(0.7, 1.4)
        x = 255 * (np.clip(x, 0, 255) / 255) ** g
    return np.clip(x, 0, 255)


class DetectionSampler:
    """Draws training crops from several page sets with given weights. ``neg_weights`` (per set, default 1):
    how much the set's background counts, below 1 for pages whose boxes are right but not complete (boxes from
    an alignment with a transcription miss the characters the detector missed)."""

    def __init__(self, sets: list[list[MemPage]], weights: list[float], crop: int = 384, seed: int = 0,
                 neg_weights: list[float] | None = None):
        neg = list(neg_weights or [])
        neg += [1.0] * (len(sets) - len(neg))  # a set without a weight of its own: 1
        self.sets = [s for s in sets if s]
        self.neg = [n for s, n in zip(sets, neg) if s]
        w = np.array([wt for s, wt in zip(sets, weights) if s], np.float64)
        self.p = w / w.sum()
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int):
        """Images, heatmaps, sizes, offsets, indices, masks and each crop's background weight."""
        imgs, heats, sizes, offs, idxs, masks, negs = [], [], [], [], [], [], []
        for _ in range(n):
            k = self.rng.choice(len(self.sets), p=self.p)
            pages = self.sets[k]
            page = pages[self.rng.integers(len(pages))]
            img, boxes = random_crop(page, self.crop, self.rng)
            img = photometric(img, self.rng)
            h, s, o, i, m = draw_targets(boxes, self.crop // STRIDE, self.crop // STRIDE)
            imgs.append((img - 128.0) / 64.0)
            heats.append(h), sizes.append(s), offs.append(o), idxs.append(i), masks.append(m), negs.append(self.neg[k])
        return (np.stack(imgs)[:, None].astype(np.float32), np.stack(heats), np.stack(sizes), np.stack(offs),
                np.stack(idxs), np.stack(masks), np.array(negs, np.float32))
