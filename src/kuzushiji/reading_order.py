"""Reading order of vertical text: columns right to left, each top to bottom."""
from __future__ import annotations

import numpy as np


def group_columns(boxes: np.ndarray, overlap: float = 0.35) -> list[list[int]]:
    """Group ``(N, 4)`` boxes ``x, y, w, h`` into columns; return index lists in reading order.

    A character joins the column whose running horizontal extent overlaps it by at least
    ``overlap`` of the narrower width; columns are ordered by their centre, right to left. A
    column with a vertical gap over 4 median character heights is split into two (tiers)."""
    n = len(boxes)
    if n == 0:
        return []
    mh = float(np.median(boxes[:, 3]))
    order = np.argsort(-(boxes[:, 2]))  # widest first makes stable column extents
    cols: list[dict] = []
    for i in order:
        x, y, w, h = boxes[i]
        best, best_ov = None, 0.0
        for c in cols:
            ov = min(x + w, c["x1"]) - max(x, c["x0"])
            frac = ov / max(1e-6, min(w, c["x1"] - c["x0"]))
            if frac > best_ov:
                best, best_ov = c, frac
        if best is not None and best_ov >= overlap:
            best["idx"].append(int(i))
        else:
            cols.append({"x0": x, "x1": x + w, "idx": [int(i)]})
    out: list[tuple[float, float, list[int]]] = []
    for c in cols:
        idx = sorted(c["idx"], key=lambda k: boxes[k, 1])
        seg = [idx[0]]
        for a, b in zip(idx, idx[1:]):
            if boxes[b, 1] - (boxes[a, 1] + boxes[a, 3]) > 4 * mh:
                out.append((_cx(boxes, seg), boxes[seg[0], 1], seg))
                seg = []
            seg.append(b)
        out.append((_cx(boxes, seg), boxes[seg[0], 1], seg))
    out.sort(key=lambda t: (-t[0], t[1]))
    return [s for _, _, s in out]


def _cx(boxes: np.ndarray, idx: list[int]) -> float:
    return float(np.median(boxes[idx, 0] + boxes[idx, 2] / 2))


Box = tuple[float, float, float, float]


def column_box(boxes: np.ndarray) -> Box:
    """The union ``x, y, w, h`` of a column's character boxes ``(N, 4+)``."""
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def segment_columns(columns: list[Box], weak: np.ndarray, char_h: float, overlap: float = 0.35,
                    max_gap: float = 2.0, min_new: int = 3) -> tuple[list[Box], list[Box]]:
    """Column regions from the detector's weaker peaks as well as its boxes, for reading columns where
    characters were missed. ``columns``: the boxes ``x, y, w, h`` of the columns the detected characters form;
    ``weak``: ``(N, 4+)`` peaks of the heat map under the detection threshold. Each column grows along its length
    over weak peaks in line with it (``overlap`` of the narrower width) that lie within ``max_gap`` character
    heights of its end; weak peaks in line with no column form new columns (:func:`group_columns`) when there
    are ``min_new`` or more. Returns ``(grown columns, in the given order; new columns, in reading order)``."""
    if not len(weak):
        return list(columns), []
    grown = [list(c) for c in columns]
    used = np.zeros(len(weak), bool)
    wx0, wy0 = weak[:, 0], weak[:, 1]
    wx1, wy1 = wx0 + weak[:, 2], wy0 + weak[:, 3]
    for c in grown:
        x0, x1 = c[0], c[0] + c[2]
        inline = (np.minimum(wx1, x1) - np.maximum(wx0, x0)) >= overlap * np.minimum(weak[:, 2], c[2])
        top, bottom = c[1], c[1] + c[3]
        changed = True
        while changed:  # reach out one gap at a time, so a run of weak peaks extends the column step by step
            near = inline & (wy1 >= top - max_gap * char_h) & (wy0 <= bottom + max_gap * char_h)
            new_top, new_bottom = min(top, wy0[near].min(initial=top)), max(bottom, wy1[near].max(initial=bottom))
            changed = (new_top, new_bottom) != (top, bottom)
            top, bottom = new_top, new_bottom
        used |= inline & (wy1 >= top) & (wy0 <= bottom)
        c[1], c[3] = float(top), float(bottom - top)
    rest = np.nonzero(~used)[0]
    new = [column_box(weak[rest[idx]]) for idx in group_columns(weak[rest, :4]) if len(idx) >= min_new]
    return [tuple(c) for c in grown], new


def merge_order(columns: list[Box], new: list[Box]) -> list[int]:
    """Reading order of ``columns`` (already in order) with ``new`` ones put in by their centre, right to left:
    indices into ``columns + new``."""
    def cx(b: Box) -> float:
        return b[0] + b[2] / 2

    pending = sorted(range(len(new)), key=lambda k: -cx(new[k]))
    order = []
    for j, b in enumerate(columns):
        while pending and cx(new[pending[0]]) > cx(b):
            order.append(len(columns) + pending.pop(0))
        order.append(j)
    return order + [len(columns) + k for k in pending]
