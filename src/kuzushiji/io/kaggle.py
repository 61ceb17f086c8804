"""The Kaggle competition layout: ``train.csv``, ``*_images/``, submissions.

``train.csv``: ``image_id,labels`` with ``labels`` = ``U+XXXX x y w h`` groups (top-left corner).
A submission: ``image_id,labels`` with ``U+XXXX cx cy`` triples.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..errors import DataError
from ..structures import CharBox, CharPoint
from ..vocab import CODE_RE, Vocabulary
from .atomic import atomic_open
from .csvfile import rows_after_header


def _rows(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield ``(row_no, image_id, labels)`` after checking the header and the column count."""
    for row_no, row in rows_after_header(path, ["image_id", "labels"]):
        if not row:
            continue
        if len(row) != 2:
            raise DataError(path, f"expected 2 columns, got {len(row)}", row_no)
        image_id = row[0].strip()
        if not image_id:
            raise DataError(path, "empty image_id", row_no)
        yield row_no, image_id, row[1].strip()


class _Codes:
    """Validates code tokens once each (``u+306e`` is read as ``U+306E``)."""

    def __init__(self, path: Path, vocab: Vocabulary | None) -> None:
        self.path, self.vocab, self.seen = path, vocab, {}

    def __call__(self, row_no: int, token: str) -> str:
        code = self.seen.get(token)
        if code is None:
            code = token.upper() if token[:2] in ("u+", "U+") else token
            if not CODE_RE.match(code):
                raise DataError(self.path, f"bad code point {token!r}", row_no)
            if self.vocab is not None and code not in self.vocab:
                raise DataError(self.path, f"unknown code point {code} (not in the vocabulary)", row_no)
            self.seen[token] = code
        return code


def parse_label_arrays(path: Path, row_no: int, labels: str, width: int, codes: _Codes
                       ) -> tuple[list[str], np.ndarray]:
    """One row's ``U+XXXX n1 .. n{width-1}`` groups -> codes and a finite float ``(N, width-1)`` array."""
    parts = labels.split()
    what = "U+XXXX x y w h" if width == 5 else "U+XXXX x y"
    if len(parts) % width:
        raise DataError(path, f"labels hold {len(parts)} fields, not a multiple of {width} ({what})", row_no)
    tokens = parts[0::width]
    canon = {t: codes(row_no, t) for t in set(tokens)}
    code_list = tokens if all(k == v for k, v in canon.items()) else [canon[t] for t in tokens]
    try:
        values = np.array(parts, dtype=object).reshape(-1, width)[:, 1:].astype(np.float64)
    except ValueError:
        bad = next(t for i, t in enumerate(parts) if i % width and not _is_float(t))
        raise DataError(path, f"not a number: {bad!r}", row_no) from None
    if not np.isfinite(values).all():
        bad = [t for i, t in enumerate(parts) if i % width][int(np.flatnonzero(~np.isfinite(values.reshape(-1)))[0])]
        raise DataError(path, f"not a finite number: {bad!r}", row_no)
    return code_list, values


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def parse_box_arrays(path: Path, row_no: int, labels: str, codes: _Codes) -> tuple[list[str], np.ndarray]:
    """One ``U+XXXX x y w h ...`` label string -> codes and a validated ``(N, 4)`` box array."""
    code_list, v = parse_label_arrays(path, row_no, labels, 5, codes)
    bad = np.flatnonzero((v[:, 0] < 0) | (v[:, 1] < 0))
    if len(bad):
        i = int(bad[0])
        raise DataError(path, f"negative box position for {code_list[i]} at ({v[i, 0]:g}, {v[i, 1]:g})", row_no)
    bad = np.flatnonzero((v[:, 2] <= 0) | (v[:, 3] <= 0))
    if len(bad):
        i = int(bad[0])
        raise DataError(path, f"non-positive box size for {code_list[i]}: {v[i, 2]:g}x{v[i, 3]:g}", row_no)
    return code_list, v


def iter_train_arrays(path: str | Path, vocab: Vocabulary | None = None,
                      image_sizes: dict[str, tuple[int, int]] | None = None
                      ) -> Iterator[tuple[str, list[str], np.ndarray]]:
    """Stream ``(image_id, codes, boxes (N, 4))`` from a Kaggle ``train.csv``.

    With ``vocab`` unknown code points are errors; with ``image_sizes`` (``id -> (w, h)``) boxes
    reaching outside their image are errors.
    """
    path = Path(path)
    seen: set[str] = set()
    codes = _Codes(path, vocab)
    for row_no, image_id, labels in _rows(path):
        if image_id in seen:
            raise DataError(path, f"duplicate image_id {image_id}", row_no)
        seen.add(image_id)
        code_list, v = parse_box_arrays(path, row_no, labels, codes)
        if image_sizes is not None and image_id in image_sizes:
            W, H = image_sizes[image_id]
            out = np.flatnonzero((v[:, 0] + v[:, 2] > W + 1) | (v[:, 1] + v[:, 3] > H + 1))
            if len(out):
                i = int(out[0])
                raise DataError(path, f"box {code_list[i]} {' '.join(f'{t:g}' for t in v[i])} outside the "
                                      f"{W}x{H} image {image_id}", row_no)
        yield image_id, code_list, v


def read_train_csv(path: str | Path, vocab: Vocabulary | None = None,
                   image_sizes: dict[str, tuple[int, int]] | None = None) -> Iterator[tuple[str, list[CharBox]]]:
    """Stream ``(image_id, boxes)`` from a Kaggle ``train.csv`` (see :func:`iter_train_arrays`)."""
    for image_id, code_list, v in iter_train_arrays(path, vocab, image_sizes):
        yield image_id, [CharBox(c, *r) for c, r in zip(code_list, v.tolist())]


def iter_submission(path: str | Path, vocab: Vocabulary | None = None
                    ) -> Iterator[tuple[str, list[str], np.ndarray]]:
    """Stream a submission CSV (``U+XXXX cx cy`` triples): ``(image_id, codes, points (N, 2))`` per row."""
    path = Path(path)
    seen: set[str] = set()
    codes = _Codes(path, vocab)
    for row_no, image_id, labels in _rows(path):
        if image_id in seen:
            raise DataError(path, f"duplicate image_id {image_id}", row_no)
        seen.add(image_id)
        yield (image_id, *parse_label_arrays(path, row_no, labels, 3, codes))


def read_submission(path: str | Path, vocab: Vocabulary | None = None) -> dict[str, list[CharPoint]]:
    """Read a submission CSV (``U+XXXX cx cy`` triples) into ``image_id -> points``."""
    return {k: [CharPoint(c, *p) for c, p in zip(codes, pts.tolist())] for k, codes, pts in iter_submission(path, vocab)}


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
