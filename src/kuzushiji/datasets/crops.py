"""Character-crop datasets from any source, as uint8 ``(N, S, S)`` arrays (dark ink on light) + codes.

Sources: Kaggle/CODH pages (crops cut around boxes), synthetic crop arrays (``images.npy``,
``labels.npy``, ``index.json``), KMNIST/K49 ``.npz`` (white on black, inverted here) and
Kuzushiji-Kanji folders.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import DataError
from ..io.arrays import KMNIST_CODES, iter_kkanji, load_glyph_arrays, read_classmap
from ..io.image import load_image
from ..io.crop import TRAIN_PAD, crop_box
from .pages import PageRecord, load_pages


@dataclass
class CropSet:
    images: np.ndarray  # (N, S, S) uint8, dark ink on light background
    codes: np.ndarray  # (N,) code point strings
    source: np.ndarray | None = None  # (N,) page id or source name, for leave-one-page-out

    def __len__(self) -> int:
        return len(self.codes)

    def subset(self, mask: np.ndarray) -> "CropSet":
        return CropSet(self.images[mask], self.codes[mask], None if self.source is None else self.source[mask])

    @staticmethod
    def concat(sets: list["CropSet"]) -> "CropSet":
        sets = [s for s in sets if len(s)]
        src = [s.source if s.source is not None else np.full(len(s), "", object) for s in sets]
        return CropSet(np.concatenate([s.images for s in sets]), np.concatenate([s.codes for s in sets]),
                       np.concatenate(src))


def _resize(imgs: np.ndarray, size: int) -> np.ndarray:
    if imgs.shape[1] == size and imgs.shape[2] == size:
        return imgs
    return np.stack([cv2.resize(i, (size, size), interpolation=cv2.INTER_AREA) for i in imgs])


def from_pages(records: list[PageRecord], size: int, progress: bool = True, pad: float = TRAIN_PAD) -> CropSet:
    """Crops around every box of ``records`` (``pad``: the framing, see :func:`crop_box`)."""
    imgs, codes, src = [], [], []
    for r in tqdm(records, desc="crop pages", leave=False, disable=not progress):
        g = load_image(r.image_path, "L")
        for b in r.boxes:
            imgs.append(crop_box(g, b, size, pad=pad))
            codes.append(b.code)
            src.append(r.image_id)
    return CropSet(np.stack(imgs) if imgs else np.zeros((0, size, size), np.uint8), np.array(codes, object),
                   np.array(src, object))


def from_arrays(folder: str | Path, size: int) -> CropSet:
    folder = Path(folder)
    idx_path = folder / "index.json"
    if not idx_path.is_file():
        raise DataError(folder, "no index.json (expected images.npy, labels.npy, index.json)")
    index = json.loads(idx_path.read_text(encoding="utf-8"))
    try:
        x = np.load(folder / "images.npy", mmap_mode="r")
        y = np.load(folder / "labels.npy")
    except (OSError, ValueError) as e:
        raise DataError(folder, f"unreadable arrays ({e})") from None
    codes = np.array(index["codes"], object)[y]
    return CropSet(_resize(np.asarray(x), size), codes, np.full(len(y), folder.name, object))


def from_npz(images: str | Path, labels: str | Path, size: int, classmap: str | Path | None = None,
             images_key: str | None = None, labels_key: str | None = None) -> CropSet:
    """KMNIST (10 classes) or K49 (with ``classmap``) arrays; white-on-black is inverted."""
    x, y = load_glyph_arrays(images, labels, images_key, labels_key)
    table = read_classmap(classmap) if classmap else KMNIST_CODES
    if y.max() >= len(table):
        raise DataError(labels, f"label {int(y.max())} outside the {len(table)}-class map")
    return CropSet(_resize(255 - x, size), np.array(table, object)[y], np.full(len(y), Path(images).name, object))


def from_kkanji(root: str | Path, size: int, limit_per_class: int = 0) -> CropSet:
    imgs, codes = [], []
    per: dict[str, int] = {}
    for code, p in iter_kkanji(root):
        if limit_per_class and per.get(code, 0) >= limit_per_class:
            continue
        per[code] = per.get(code, 0) + 1
        imgs.append(cv2.resize(255 - load_image(p, "L"), (size, size), interpolation=cv2.INTER_AREA))
        codes.append(code)
    return CropSet(np.stack(imgs), np.array(codes, object), np.full(len(codes), "kkanji", object))


def load_source(spec: str, size: int, progress: bool = True) -> CropSet:
    """One ``--source``: a page folder, a crop-array folder, ``npz:IMAGES,LABELS[,CLASSMAP]``,
    or ``kkanji:ROOT``."""
    if spec.startswith("npz:"):
        parts = spec[4:].split(",")
        return from_npz(parts[0], parts[1], size, parts[2] if len(parts) > 2 else None)
    if spec.startswith("kkanji:"):
        return from_kkanji(spec[7:], size)
    p = Path(spec)
    if (p / "index.json").is_file():
        return from_arrays(p, size)
    return from_pages(load_pages(p), size, progress)


def prepare_arrays(sets: list[CropSet], out: str | Path, cap: int = 0, min_per_class: int = 0, seed: int = 0) -> Path:
    """Combine sources (e.g. K49 + Kuzushiji-Kanji) into one balanced array dataset:
    ``images.npy``, ``labels.npy``, ``index.json`` (index <-> code point <-> character).
    Classes above ``cap`` are subsampled; classes below ``min_per_class`` are oversampled."""
    rng = np.random.default_rng(seed)
    data = CropSet.concat(sets)
    codes = sorted(set(data.codes.tolist()))
    lut = {c: i for i, c in enumerate(codes)}
    y = np.array([lut[c] for c in data.codes])
    keep = []
    for k in range(len(codes)):
        idx = np.nonzero(y == k)[0]
        if cap and len(idx) > cap:
            idx = rng.choice(idx, cap, replace=False)
        if min_per_class and len(idx) < min_per_class:
            idx = np.concatenate([idx, rng.choice(idx, min_per_class - len(idx))])
        keep.append(idx)
    keep = np.concatenate(keep)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "images.npy", data.images[keep])
    np.save(out / "labels.npy", y[keep].astype(np.int64))
    (out / "index.json").write_text(json.dumps({"codes": codes, "chars": [chr(int(c[2:], 16)) for c in codes]},
                                               ensure_ascii=False), encoding="utf-8")
    return out
