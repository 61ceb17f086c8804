"""The 4,787-code vocabulary of the Kaggle competition (``unicode_translation.csv``)."""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .errors import DataError

CODE_RE = re.compile(r"^U\+[0-9A-F]{4,5}$")
RARE = "rare"  # classifier class grouping every code beyond its top-N


def code_to_char(code: str) -> str:
    """``'U+306E'`` -> ``'の'`` (any code point, in or out of the vocabulary)."""
    return chr(int(code[2:], 16))


def char_to_code(char: str) -> str:
    """``'の'`` -> ``'U+306E'``."""
    return f"U+{ord(char):04X}"


class Vocabulary:
    """Ordered code points with code <-> char <-> index lookup."""

    def __init__(self, codes: list[str]) -> None:
        self.codes = list(codes)
        self.index = {c: i for i, c in enumerate(self.codes)}
        if len(self.index) != len(self.codes):
            raise ValueError("duplicate codes in vocabulary")

    def __len__(self) -> int:
        return len(self.codes)

    def __contains__(self, code: object) -> bool:
        return code in self.index

    def char(self, code: str) -> str:
        return code_to_char(code)

    def code_of_char(self, char: str) -> str:
        return char_to_code(char)

    @classmethod
    def from_csv(cls, path: str | Path) -> "Vocabulary":
        """Read ``Unicode,char`` rows; every code must look like ``U+XXXX``."""
        path = Path(path)
        if not path.is_file():
            raise DataError(path, "file not found")
        codes: list[str] = []
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header or header[0].strip() != "Unicode":
                raise DataError(path, "expected header 'Unicode,char'", 1)
            for row_no, row in enumerate(reader, start=2):
                if not row:
                    continue
                code = row[0].strip()
                if not CODE_RE.match(code):
                    raise DataError(path, f"bad code point {code!r}", row_no)
                codes.append(code)
        if not codes:
            raise DataError(path, "empty vocabulary")
        return cls(codes)


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The bundled 4,787-code table."""
    ref = resources.files("kuzushiji") / "data" / "unicode_translation.csv"
    with resources.as_file(ref) as p:
        return Vocabulary.from_csv(p)


@lru_cache(maxsize=1)
def hentaigana_sources() -> dict[str, list[str]]:
    """Kana -> the kanji it was written with (字母), the standard source first (bundled ``data/jibo.csv``,
    from shared/data/hentaigana_sources: 安 for あ, then 阿 愛 悪 ...)."""
    out: dict[str, list[str]] = {}
    with resources.files("kuzushiji").joinpath("data/jibo.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out[row["kana"]] = [row["standard_source"], *row["other_sources"].split()]
    return out
