"""Text for synthetic pages: real transcribed columns (real frequencies and sequences) or a
class-balanced stream (for classifier crops)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError


class ColumnTexts:
    """Lines of real column transcriptions; ``sample`` returns one line (or a run of lines)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = [l for l in lines if l]
        if not self.lines:
            raise ValueError("no text lines")

    @classmethod
    def from_files(cls, paths: list[str | Path]) -> "ColumnTexts":
        lines: list[str] = []
        for p in paths:
            p = Path(p)
            if not p.is_file():
                raise DataError(p, "text file not found")
            lines += [l.strip() for l in p.read_text(encoding="utf-8").splitlines()]
        return cls(lines)

    def sample(self, rng: np.random.Generator, min_len: int = 1) -> str:
        s = self.lines[int(rng.integers(len(self.lines)))]
        while len(s) < min_len:
            s += self.lines[int(rng.integers(len(self.lines)))]
        return s


class BalancedText:
    """Uniform over a list of characters: every class appears equally often."""

    def __init__(self, chars: list[str]) -> None:
        self.chars = chars

    def sample(self, rng: np.random.Generator, min_len: int = 1) -> str:
        n = max(min_len, 24)
        return "".join(self.chars[i] for i in rng.integers(len(self.chars), size=n))


def default_text_files(shared: str | Path) -> list[Path]:
    """The real transcriptions under ``shared`` (../shared/data)."""
    shared = Path(shared)
    files = [shared / "kuzushiji_column_texts" / "kuzushiji_column_texts.txt"]
    files += sorted((shared / "codh_coordinates_text_only").glob("*_columns.txt"))
    return [f for f in files if f.is_file()]
