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

    @classmethod
    def from_masks(cls, hit: np.ndarray, used: np.ndarray) -> "Counts":
        """Counts of one matched page: truth boxes hit, predictions left unused, truth boxes missed."""
        tp = int(hit.sum())
        return cls(tp, len(used) - int(used.sum()), len(hit) - tp)

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


def box_array(boxes: list[CharBox]) -> np.ndarray:
    """Boxes as a float ``(N, 4)`` array of ``x, y, w, h``."""
    return np.array([(b.x, b.y, b.w, b.h) for b in boxes], np.float64).reshape(-1, 4)


def point_array(points: list[CharPoint]) -> np.ndarray:
    """Points as a float ``(N, 2)`` array of ``x, y``."""
    return np.array([(p.x, p.y) for p in points], np.float64).reshape(-1, 2)


def code_ids(codes) -> np.ndarray:
    """``U+XXXX`` codes (any case) as integers, for fast label comparison."""
    return np.fromiter((int(c[2:], 16) for c in codes), dtype=np.int64)


def match_arrays(tbox: np.ndarray, tlab: np.ndarray, pxy: np.ndarray, plab: np.ndarray,
                 class_agnostic: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The competition's matching on arrays: ``tbox`` (T, 4) ``x, y, w, h`` in truth order, ``tlab`` (T,)
    integer labels, ``pxy`` (P, 2) points, ``plab`` (P,). Returns a hit mask over truth boxes and a used
    mask over predictions.

    Boxes only compete for points of their own label, so each label is matched on its own: the
    strictly-inside pairs of that label, walked in truth order, each box taking its first unused point.
    """
    T, P = len(tbox), len(pxy)
    hit = np.zeros(T, dtype=bool)
    used = np.zeros(P, dtype=bool)
    if T == 0 or P == 0:
        return hit, used
    if class_agnostic:
        groups = [(np.arange(T), np.arange(P))]
    else:
        to, po = np.argsort(tlab, kind="stable"), np.argsort(plab, kind="stable")
        labels = np.intersect1d(tlab, plab)
        ts, te = np.searchsorted(tlab[to], labels, "left"), np.searchsorted(tlab[to], labels, "right")
        ps, pe = np.searchsorted(plab[po], labels, "left"), np.searchsorted(plab[po], labels, "right")
        groups = [(to[a:b], po[c:d]) for a, b, c, d in zip(ts, te, ps, pe)]
    for ti, pi in groups:
        x0, y0 = tbox[ti, 0:1], tbox[ti, 1:2]
        x1, y1 = x0 + tbox[ti, 2:3], y0 + tbox[ti, 3:4]
        px, py = pxy[pi, 0][None], pxy[pi, 1][None]
        rows, cols = np.nonzero((x0 < px) & (px < x1) & (y0 < py) & (py < y1))
        if len(cols) == 0:
            continue
        if np.bincount(cols).max() == 1:  # no point lies in two boxes: each box takes its first point
            first = np.r_[True, rows[1:] != rows[:-1]]
            hit[ti[rows[first]]] = True
            used[pi[cols[first]]] = True
            continue
        taken: set[int] = set()
        last = -1
        for r, c in zip(rows.tolist(), cols.tolist()):  # row-major: truth order, then prediction order
            if r == last or c in taken:
                continue
            taken.add(c)
            last = r
            hit[ti[r]] = True
            used[pi[c]] = True
    return hit, used


def match_page(truth: list[CharBox], preds: list[CharPoint], class_agnostic: bool = False
               ) -> tuple[Counts, np.ndarray, np.ndarray]:
    """Match one page. Returns counts, a per-truth-box hit mask and a per-prediction used mask."""
    ids: dict[str, int] = {}  # any label strings (codes, or '' for class-agnostic boxes) as integers
    tlab = np.array([ids.setdefault(b.code, len(ids)) for b in truth], np.int64)
    plab = np.array([ids.setdefault(p.code, len(ids)) for p in preds], np.int64)
    hit, used = match_arrays(box_array(truth), tlab, point_array(preds), plab, class_agnostic)
    return Counts.from_masks(hit, used), hit, used


class Scorer:
    """Accumulates the F1 page by page, so predictions can be streamed from a file."""

    def __init__(self, class_agnostic: bool = False, per_class: bool = False) -> None:
        self.class_agnostic, self.per_class = class_agnostic, per_class
        self.total = Counts()
        self.pages: dict[str, Counts] = {}
        self.classes: dict[int, Counts] = defaultdict(Counts)
        self.flagged: list[str] = []
        self.unknown: list[str] = []

    def add(self, image_id: str, tbox: np.ndarray, tlab: np.ndarray, pxy: np.ndarray, plab: np.ndarray,
            in_truth: bool = True) -> Counts:
        """Score one page (``in_truth=False``: a predicted page the truth lacks; all its points are FPs)."""
        if len(plab) > MAX_PREDICTIONS_PER_PAGE:
            self.flagged.append(image_id)
        if not in_truth:
            self.unknown.append(image_id)
        hit, used = match_arrays(tbox, tlab, pxy, plab, self.class_agnostic)
        c = Counts.from_masks(hit, used)
        self.pages[image_id] = c
        self.total += c
        if self.per_class:
            for lab, h in zip(tlab.tolist(), hit.tolist()):
                if h:
                    self.classes[lab].tp += 1
                else:
                    self.classes[lab].fn += 1
            for lab in plab[~used].tolist():
                self.classes[lab].fp += 1
        return c

    def report(self, page_order: list[str] | None = None) -> F1Report:
        pages = self.pages
        if page_order is not None:
            pages = {k: pages[k] for k in page_order if k in pages} | {k: pages[k] for k in self.unknown}
        return F1Report(self.total, pages, {f"U+{k:04X}": v for k, v in self.classes.items()},
                        self.flagged, self.unknown)


def score(truth: dict[str, list[CharBox]], preds: dict[str, list[CharPoint]],
          class_agnostic: bool = False, per_class: bool = False) -> F1Report:
    """Score a submission against the truth over all pages.

    Pages only in the truth count all their boxes as misses; pages only in the predictions count
    all their points as false positives (and are listed in ``unknown_pages``).
    """
    sc = Scorer(class_agnostic, per_class)
    for image_id in list(truth) + [k for k in preds if k not in truth]:
        boxes, pts = truth.get(image_id, []), preds.get(image_id, [])
        sc.add(image_id, box_array(boxes), code_ids(b.code for b in boxes), point_array(pts),
               code_ids(p.code for p in pts), in_truth=image_id in truth)
    return sc.report()
