"""The Kaggle competition layout: ``train.csv``, ``*_images/``, submissions.

``train.csv``: ``image_id,labels`` with ``labels`` = ``U+XXXX x y w h`` groups (top-left corner).
A submission: ``image_id,labels`` with ``U+XXXX cx cy`` triples.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import DataError
from ..structures import CharBox, CharPoint
from ..vocab import CODE_RE, Vocabulary
from .atomic import atomic_open

csv.field_size_limit(1 << 28)


def _rows(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield ``(row_no, image_id, labels)`` after checking the header and the column count."""
    if not path.is_file():
        raise DataError(path, "file not found")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DataError(path, "empty CSV (no header)")
        if [h.strip() for h in header[:2]] != ["image_id", "labels"] or len(header) != 2:
            raise DataError(path, f"expected header 'image_id,labels', got {','.join(header)!r}", 1)
        for row_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != 2:
                raise DataError(path, f"expected 2 columns, got {len(row)}", row_no)
            image_id = row[0].strip()
            if not image_id:
                raise DataError(path, "empty image_id", row_no)
            yield row_no, image_id, row[1].strip()


def _parse_code(path: Path, row_no: int, code: str, vocab: Vocabulary | None) -> str:
    if not CODE_RE.match(code):
        raise DataError(path, f"bad code point {code!r}", row_no)
    if vocab is not None and code not in vocab:
        raise DataError(path, f"unknown code point {code} (not in the vocabulary)", row_no)
    return code


def _parse_number(path: Path, row_no: int, s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise DataError(path, f"not a number: {s!r}", row_no) from None
    if v != v or v in (float("inf"), float("-inf")):
        raise DataError(path, f"not a finite number: {s!r}", row_no)
    return v


def parse_labels(path: Path, row_no: int, labels: str, vocab: Vocabulary | None = None) -> list[CharBox]:
    """Parse one ``U+XXXX x y w h ...`` label string, validating every group."""
    parts = labels.split()
    if len(parts) % 5:
        raise DataError(path, f"labels hold {len(parts)} fields, not a multiple of 5 (U+XXXX x y w h)", row_no)
    boxes = []
    for i in range(0, len(parts), 5):
        code = _parse_code(path, row_no, parts[i], vocab)
        x, y, w, h = (_parse_number(path, row_no, s) for s in parts[i + 1 : i + 5])
        if x < 0 or y < 0:
            raise DataError(path, f"negative box position for {code} at ({x:g}, {y:g})", row_no)
        if w <= 0 or h <= 0:
            raise DataError(path, f"non-positive box size for {code}: {w:g}x{h:g}", row_no)
        boxes.append(CharBox(code, x, y, w, h))
    return boxes


def read_train_csv(
    path: str | Path,
    vocab: Vocabulary | None = None,
    image_sizes: dict[str, tuple[int, int]] | None = None,
) -> Iterator[tuple[str, list[CharBox]]]:
    """Stream ``(image_id, boxes)`` from a Kaggle ``train.csv``.

    With ``vocab`` unknown code points are errors; with ``image_sizes`` (``id -> (w, h)``) boxes
    reaching outside their image are errors.
    """
    path = Path(path)
    seen: set[str] = set()
    for row_no, image_id, labels in _rows(path):
        if image_id in seen:
            raise DataError(path, f"duplicate image_id {image_id}", row_no)
        seen.add(image_id)
        boxes = parse_labels(path, row_no, labels, vocab)
        if image_sizes is not None and image_id in image_sizes:
            W, H = image_sizes[image_id]
            for b in boxes:
                if b.x + b.w > W + 1 or b.y + b.h > H + 1:
                    raise DataError(path, f"box {b.code} {b.x:g} {b.y:g} {b.w:g} {b.h:g} outside the {W}x{H} image {image_id}", row_no)
        yield image_id, boxes


def read_submission(path: str | Path, vocab: Vocabulary | None = None) -> dict[str, list[CharPoint]]:
    """Read a submission CSV (``U+XXXX cx cy`` triples) into ``image_id -> points``."""
    path = Path(path)
    out: dict[str, list[CharPoint]] = {}
    for row_no, image_id, labels in _rows(path):
        if image_id in out:
            raise DataError(path, f"duplicate image_id {image_id}", row_no)
        parts = labels.split()
        if len(parts) % 3:
            raise DataError(path, f"labels hold {len(parts)} fields, not a multiple of 3 (U+XXXX x y)", row_no)
        pts = []
        for i in range(0, len(parts), 3):
            code = _parse_code(path, row_no, parts[i], vocab)
            x, y = (_parse_number(path, row_no, s) for s in parts[i + 1 : i + 3])
            pts.append(CharPoint(code, x, y))
        out[image_id] = pts
    return out


def format_points(points: Iterable[CharPoint]) -> str:
    return " ".join(f"{p.code} {int(round(p.x))} {int(round(p.y))}" for p in points)


def format_boxes(boxes: Iterable[CharBox]) -> str:
    return " ".join(f"{b.code} {int(round(b.x))} {int(round(b.y))} {int(round(b.w))} {int(round(b.h))}" for b in boxes)


def write_label_rows(path: str | Path, rows: dict[str, str]) -> None:
    """Write ``image_id,labels`` rows (labels already formatted) atomically, in the order given."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["image_id", "labels"])
        for image_id, labels in rows.items():
            w.writerow([image_id, labels])


def write_submission(path: str | Path, pages: dict[str, list[CharPoint]]) -> None:
    """A submission CSV (``U+XXXX cx cy`` triples)."""
    write_label_rows(path, {k: format_points(v) for k, v in pages.items()})


def write_train_csv(path: str | Path, pages: dict[str, list[CharBox]]) -> None:
    """A Kaggle ``train.csv`` (``U+XXXX x y w h`` groups)."""
    write_label_rows(path, {k: format_boxes(v) for k, v in pages.items()})


def truth_as_points(pages: dict[str, list[CharBox]]) -> dict[str, list[CharPoint]]:
    """Box centres as a submission (what a perfect predictor would submit)."""
    return {k: [CharPoint(b.code, b.cx, b.cy) for b in v] for k, v in pages.items()}
