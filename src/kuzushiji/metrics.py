"""The Kaggle "Kuzushiji Recognition" F1, exactly as the competition computed it.

Per page, walk the ground-truth boxes in order; a box is a hit when the first still-unused
prediction with the same label lies strictly inside it. Every unused prediction is a false
positive. TP/FP/FN are summed over all pages before precision, recall and F1.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .structures import CharBox, CharPoint

MAX_PREDICTIONS_PER_PAGE = 1200


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __iadd__(self, other: "Counts") -> "Counts":
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        return self

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class F1Report:
    total: Counts
    pages: dict[str, Counts]
    per_class: dict[str, Counts] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)  # pages over MAX_PREDICTIONS_PER_PAGE
    unknown_pages: list[str] = field(default_factory=list)  # predicted pages absent from the truth

    @property
    def f1(self) -> float:
        return self.total.f1


def match_page(truth: list[CharBox], preds: list[CharPoint], class_agnostic: bool = False
               ) -> tuple[Counts, np.ndarray, np.ndarray]:
    """Match one page. Returns counts, a per-truth-box hit mask and a per-prediction used mask."""
    hit = np.zeros(len(truth), dtype=bool)
    if not preds:
        return Counts(0, 0, len(truth)), hit, np.zeros(0, dtype=bool)
    px = np.array([p.x for p in preds], dtype=np.float64)
    py = np.array([p.y for p in preds], dtype=np.float64)
    plab = np.array([p.code for p in preds])
    unused = np.ones(len(preds), dtype=bool)
    for i, b in enumerate(truth):
        m = (b.x < px) & (px < b.x + b.w) & (b.y < py) & (py < b.y + b.h) & unused
        if not class_agnostic:
            m &= plab == b.code
        if m.any():
            hit[i] = True
            unused[int(np.argmax(m))] = False
    tp = int(hit.sum())
    return Counts(tp, int(unused.sum()), len(truth) - tp), hit, ~unused


def score(truth: dict[str, list[CharBox]], preds: dict[str, list[CharPoint]],
          class_agnostic: bool = False, per_class: bool = False) -> F1Report:
    """Score a submission against the truth over all pages.

    Pages only in the truth count all their boxes as misses; pages only in the predictions count
    all their points as false positives (and are listed in ``unknown_pages``).
    """
    total = Counts()
    pages: dict[str, Counts] = {}
    classes: dict[str, Counts] = defaultdict(Counts)
    flagged = [k for k, v in preds.items() if len(v) > MAX_PREDICTIONS_PER_PAGE]
    for image_id, boxes in truth.items():
        pts = preds.get(image_id, [])
        c, hit, used = match_page(boxes, pts, class_agnostic)
        pages[image_id] = c
        total += c
        if per_class:
            for b, h in zip(boxes, hit):
                if h:
                    classes[b.code].tp += 1
                else:
                    classes[b.code].fn += 1
            for p, u in zip(pts, used):
                if not u:
                    classes[p.code].fp += 1
    unknown = [k for k in preds if k not in truth]
    for image_id in unknown:
        c = Counts(0, len(preds[image_id]), 0)
        pages[image_id] = c
        total += c
        if per_class:
            for p in preds[image_id]:
                classes[p.code].fp += 1
    return F1Report(total, pages, dict(classes), flagged, unknown)
