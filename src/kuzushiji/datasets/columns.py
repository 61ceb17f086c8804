"""Column strips with their text, for the column reader (CTC): each column cut from its page, scaled to a fixed
width, labelled with its characters top to bottom.

Two sources: labelled pages (synthetic pages, whose generator knows every box; CODH books), whose boxes are
grouped into columns by :func:`~kuzushiji.reading_order.group_columns`; and `kuzushiji align` output, whose
detected boxes are grouped the same way and each column labelled with the stretch of the known text its aligned
boxes span, characters without a box included (what a column reader must learn and a box reader cannot).
A set is stored in one ``.npz``: strips stacked along their height, their heights, labels as class indices.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from ..errors import DataError
from ..io.image import load_image
from ..reading_order import column_box, group_columns

STRIP_WIDTH = 40  # pixels across a column strip
MAX_STRIP_HEIGHT = 2400  # a taller column is cut at this height (a very long column of a tall page)
ALIGNED = {"accepted", "matched", "mismatch", "merge", "split", "spelled", "unsure"}


def column_strip(gray: np.ndarray, box: tuple[float, float, float, float], width: int = STRIP_WIDTH,
                 pad: float = 0.15) -> np.ndarray:
    """The column ``box`` of a page, with a margin of ``pad`` of its width, scaled to ``width`` pixels across:
    uint8 ``(H, width)``."""
    return strip_with_origin(gray, box, width, pad)[0]


def strip_with_origin(gray: np.ndarray, box: tuple[float, float, float, float], width: int = STRIP_WIDTH,
                      pad: float = 0.15) -> tuple[np.ndarray, float, float, float]:
    """:func:`column_strip`, and where it lies on the page: ``(strip, x0, y0, scale)``, a strip row ``r`` being
    page row ``y0 + r / scale``."""
    x, y, w, h = box
    m = pad * w
    H, W = gray.shape
    x0, x1 = int(max(0, x - m)), int(min(W, x + w + m))
    y0, y1 = int(max(0, y - m)), int(min(H, y + h + m))
    crop = gray[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    scale = width / crop.shape[1]
    height = int(min(MAX_STRIP_HEIGHT, max(8, round(crop.shape[0] * scale))))
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA), float(x0), float(y0), height / crop.shape[0]


@dataclass
class ColumnSet:
    strips: list[np.ndarray]  # uint8 (H_i, STRIP_WIDTH)
    labels: list[np.ndarray]  # int64 class indices into ``codes``, top to bottom
    codes: list[str]

    def __len__(self) -> int:
        return len(self.strips)

    def save(self, path: str | Path) -> None:
        from ..io.atomic import atomic_open

        with atomic_open(Path(path), "wb") as f:
            np.savez_compressed(f, strips=np.concatenate(self.strips), heights=np.array([len(s) for s in self.strips]),
                                labels=np.concatenate(self.labels).astype(np.int32),
                                lengths=np.array([len(t) for t in self.labels]), codes=np.array(self.codes))

    @classmethod
    def load(cls, path: str | Path) -> "ColumnSet":
        from ..io.arrays import check_npz

        check_npz(path)
        with np.load(path, allow_pickle=False) as z:
            strips = np.split(z["strips"], np.cumsum(z["heights"])[:-1])
            labels = np.split(z["labels"].astype(np.int64), np.cumsum(z["lengths"])[:-1])
            return cls(strips, labels, z["codes"].tolist())

    @classmethod
    def concat(cls, sets: list["ColumnSet"]) -> "ColumnSet":
        if any(s.codes != sets[0].codes for s in sets):
            raise DataError("columns", "column sets of different vocabularies")
        return cls([x for s in sets for x in s.strips], [x for s in sets for x in s.labels], sets[0].codes)


def _encode(codes: Iterable[str], index: dict[str, int]) -> np.ndarray:
    """Class indices of the codes the vocabulary has (the others are left out of the target)."""
    return np.array([index[c] for c in codes if c in index], np.int64)


def from_pages(records: list, codes: list[str], min_chars: int = 2) -> ColumnSet:
    """Strips of every column of labelled pages (:class:`~kuzushiji.datasets.pages.PageRecord`)."""
    index = {c: i for i, c in enumerate(codes)}
    strips, labels = [], []
    for rec in records:
        if len(rec.boxes) < min_chars:
            continue
        gray = load_image(rec.image_path, "L")
        xywh = np.array([[b.x, b.y, b.w, b.h] for b in rec.boxes], np.float32)
        for idx in group_columns(xywh):
            y = _encode((rec.boxes[i].code for i in idx), index)
            if len(idx) >= min_chars and len(y):
                strips.append(column_strip(gray, column_box(xywh[idx])))
                labels.append(y)
    return ColumnSet(strips, labels, list(codes))


def _alignment_pages(folder: Path) -> Iterator[tuple[str, list[dict]]]:
    rows: dict[str, list[dict]] = {}
    with open(folder / "alignment.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["image_id"], []).append(r)
    yield from rows.items()


def from_alignment(folder: str | Path, text: str, images: str | Path, codes: list[str],
                   min_aligned: int = 3) -> ColumnSet:
    """Strips of the columns of `kuzushiji align` output ``folder`` (its ``alignment.csv``; page images in
    ``images``), each labelled with the stretch of ``text`` (the aligner's normalised text) that its aligned boxes
    span. A column with fewer than ``min_aligned`` aligned boxes, or whose span is more than twice its boxes (the
    walk lost its place), is left out."""
    from ..align import normalize_text
    from ..vocab import char_to_code

    folder, images = Path(folder), Path(images)
    norm = normalize_text(text)
    index = {c: i for i, c in enumerate(codes)}
    strips, labels = [], []
    for image_id, rows in _alignment_pages(folder):
        path = next((p for p in images.glob(f"{image_id}.*")), None)
        if path is None:
            continue
        gray = load_image(path, "L")
        xywh = np.array([[float(r[k]) for k in ("x", "y", "w", "h")] for r in rows], np.float32)
        for idx in group_columns(xywh):
            pos = sorted(int(rows[i]["text_pos"]) for i in idx if rows[i]["status"] in ALIGNED
                         and int(rows[i]["text_pos"]) >= 0)
            if len(pos) < min_aligned or pos[-1] - pos[0] + 1 > 2 * len(idx) + 2:
                continue
            y = _encode((char_to_code(ch) for ch in norm[pos[0]: pos[-1] + 1] if not ch.isspace()), index)
            if len(y):
                strips.append(column_strip(gray, column_box(xywh[idx])))
                labels.append(y)
    return ColumnSet(strips, labels, list(codes))
