"""The CODH per-book layout: ``<book>/<book>_coordinate.csv``, ``<book>/images/``, ``<book>/characters/``."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import DataError
from ..structures import CharBox
from ..vocab import CODE_RE, Vocabulary
from .csvfile import rows_after_header

CODH_HEADER = ["Unicode", "Image", "X", "Y", "Block ID", "Char ID", "Width", "Height"]


def read_coordinate_csv(path: str | Path, vocab: Vocabulary | None = None) -> dict[str, list[CharBox]]:
    """``image_id -> boxes`` in reading order (Char ID order), validating every row."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    pages: dict[str, list[tuple[str, CharBox]]] = {}
    for row_no, row in rows_after_header(path, CODH_HEADER):
        if not row:
            continue
        if len(row) != len(CODH_HEADER):
            raise DataError(path, f"expected {len(CODH_HEADER)} columns, got {len(row)}", row_no)
        code, image, xs, ys, _block, char_id, ws, hs = (c.strip() for c in row)
        if not CODE_RE.match(code):
            raise DataError(path, f"bad code point {code!r}", row_no)
        if vocab is not None and code not in vocab:
            raise DataError(path, f"unknown code point {code} (not in the vocabulary)", row_no)
        try:
            x, y, w, h = int(xs), int(ys), int(ws), int(hs)
        except ValueError:
            raise DataError(path, f"non-integer box {xs},{ys},{ws},{hs}", row_no) from None
        if x < 0 or y < 0 or w <= 0 or h <= 0:
            raise DataError(path, f"invalid box {x},{y},{w},{h}", row_no)
        pages.setdefault(image, []).append((char_id, CharBox(code, x, y, w, h)))
    return {k: [b for _, b in sorted(v, key=lambda t: t[0])] for k, v in pages.items()}


def find_books(root: str | Path) -> Iterator[tuple[str, Path, Path]]:
    """Yield ``(book_id, coordinate_csv, images_dir)`` for each CODH book folder under ``root``."""
    root = Path(root)
    for csv_path in sorted(root.glob("*/*_coordinate.csv")):
        yield csv_path.parent.name, csv_path, csv_path.parent / "images"


def iter_character_crops(book_dir: str | Path) -> Iterator[tuple[str, Path]]:
    """Yield ``(code, crop_path)`` from ``<book>/characters/U+XXXX/*.jpg``."""
    for d in sorted(Path(book_dir, "characters").iterdir()):
        if d.is_dir() and CODE_RE.match(d.name):
            for p in sorted(d.glob("*.jpg")):
                yield d.name, p
