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
