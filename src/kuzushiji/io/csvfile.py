"""Reading CSV text safely: one place that turns a missing file, a BOM, bytes that are not UTF-8 or a
malformed quote into either clean rows or a one-line :class:`DataError` naming the file and row."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from ..errors import DataError

csv.field_size_limit(1 << 28)


def csv_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """``(row_no, fields)`` for every row, the header being row 1; a UTF-8 byte-order mark is dropped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    row_no = 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for row_no, row in enumerate(csv.reader(f), start=1):
                yield row_no, row
    except UnicodeDecodeError:
        raise DataError(path, "not UTF-8 text (a binary file, or another encoding?)", row_no + 1) from None
    except csv.Error as e:
        raise DataError(path, f"malformed CSV ({e})", row_no + 1) from None


def rows_after_header(path: str | Path, expected: list[str], width: int | None = None
                      ) -> Iterator[tuple[int, list[str]]]:
    """The rows after a header that must read ``expected`` (stripped; its first ``len(expected)`` fields,
    and exactly ``width`` fields when given); a missing or different header is an error on row 1."""
    rows = csv_rows(path)
    _, head = next(rows, (1, None))
    if head is None:
        raise DataError(path, "empty CSV (no header)")
    if [h.strip() for h in head[: len(expected)]] != expected or len(head) != (width or len(expected)):
        raise DataError(path, f"expected header {','.join(expected)!r}, got {','.join(head)[:80]!r}", 1)
    return rows


def header(path: str | Path) -> list[str]:
    """The first row, stripped; an empty file is an error."""
    for _, row in csv_rows(path):
        if row:
            return [h.strip() for h in row]
        break
    raise DataError(path, "empty CSV (no header)", 1)
