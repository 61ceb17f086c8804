"""Reading a transcription: the whole file as UTF-8 text, or a one-line :class:`DataError` naming it."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError


def read_text(path: str | Path) -> str:
    """The file's text (UTF-8, a byte-order mark dropped)."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(path, f"cannot read the text as UTF-8 ({e.__class__.__name__})") from None
