"""Layout statistics measured on real annotated pages (the generator samples from them).

Sizes are stored relative to the page height so that they transfer across scan resolutions.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io.codh import read_coordinate_csv
from ..structures import CharBox

KANA = range(0x3040, 0x30A0)


def split_columns(boxes: list[CharBox]) -> list[list[CharBox]]:
    """Physical columns of a page given boxes in reading order (the MANIFEST's rule)."""
    if not boxes:
        return []
    mw = float(np.median([b.w for b in boxes]))
    mh = float(np.median([b.h for b in boxes]))
    cols = [[boxes[0]]]
    for prev, b in zip(boxes, boxes[1:]):
        if b.cy < prev.cy - 0.5 * mh or abs(b.cx - prev.cx) > 1.0 * mw:
            cols.append([b])
        else:
            cols[-1].append(b)
    return cols


def _pct(a, qs=(5, 25, 50, 75, 95)) -> dict[str, float]:
    a = np.asarray(a, dtype=float)
    return {f"p{q}": float(np.percentile(a, q)) for q in qs} | {"mean": float(a.mean()), "std": float(a.std())}


def measure(books: dict[str, tuple[Path, float]]) -> dict:
    """``books``: book id -> (coordinate csv, page height in px). Returns the statistics dict."""
    kana_h, kanji_h, aspect_kana, aspect_kanji = [], [], [], []
    pitch, per_col, per_page, n_cols, gap, col_top, col_bottom = [], [], [], [], [], [], []
    for _, (csv_path, H) in books.items():
        pages = read_coordinate_csv(csv_path)
        for boxes in pages.values():
            if len(boxes) < 20:
                continue
            per_page.append(len(boxes))
            for b in boxes:
                (kana_h if ord(chr(int(b.code[2:], 16))) in KANA else kanji_h).append(b.h / H)
                (aspect_kana if int(b.code[2:], 16) in KANA else aspect_kanji).append(b.w / b.h)
            cols = split_columns(boxes)
            n_cols.append(len(cols))
            xs = sorted((np.mean([b.cx for b in c]) for c in cols if len(c) >= 3), reverse=True)
            pitch += [(a - b) / H for a, b in zip(xs, xs[1:]) if 0 < a - b < 0.2 * H]
            for c in cols:
                per_col.append(len(c))
                col_top.append(c[0].y / H)
                col_bottom.append((c[-1].y + c[-1].h) / H)
                gap += [(n.y - (p.y + p.h)) / H for p, n in zip(c, c[1:])]
    return {
        "source": {k: str(v[0].name) for k, v in books.items()},
        "page_heights": {k: v[1] for k, v in books.items()},
        "kana_height": _pct(kana_h), "kanji_height": _pct(kanji_h),
        "kana_aspect": _pct(aspect_kana), "kanji_aspect": _pct(aspect_kanji),
        "column_pitch": _pct(pitch), "chars_per_column": _pct(per_col), "chars_per_page": _pct(per_page),
        "columns_per_page": _pct(n_cols), "vertical_gap": _pct(gap),
        "column_top": _pct(col_top), "column_bottom": _pct(col_bottom),
        "counts": {"pages": len(per_page), "columns": len(per_col), "chars": len(kana_h) + len(kanji_h)},
    }


def default_stats_path() -> Path:
    return Path(__file__).resolve().parents[1] / "data" / "layout_stats.json"


def load_stats(path: str | Path | None = None) -> dict:
    return json.loads(Path(path or default_stats_path()).read_text(encoding="utf-8"))
