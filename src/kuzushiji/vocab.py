"""The 4,787-code vocabulary of the Kaggle competition (``unicode_translation.csv``)."""
from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import DataError

CODE_RE = re.compile(r"^U\+[0-9A-F]{4,5}$")
RARE = "rare"  # classifier class grouping every code beyond its top-N
SMALL = dict(zip("ぁぃぅぇぉっゃゅょゎ", "あいうえおつやゆよわ"))
JIBO_WEIGHT = 0.5  # how much a 字母 kanji counts toward the kana written with it (alignment, restricted reading)


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


@lru_cache(maxsize=8192)
def reading_key(ch: str) -> str:
    """What a character reads as, for comparing a page with a transcription: no dakuten, hiragana for
    katakana, large kana for small ones, the kana a hentaigana letter stands for."""
    if 0x1B000 <= ord(ch) <= 0x1B16F:  # HENTAIGANA LETTER KA-3 -> か
        name = unicodedata.name(ch, "").split("LETTER ")[-1].split("-")[0]
        try:
            ch = unicodedata.lookup(f"HIRAGANA LETTER {name}")
        except KeyError:
            return ch
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if c not in "\u3099\u309a")
    base = unicodedata.normalize("NFC", base) or ch
    if "\u30a1" <= base <= "\u30f6":
        base = chr(ord(base) - 0x60)
    return SMALL.get(base, base)


SHORTEST, LONGEST = 2, 4  # kana one kanji may stand for (きこ ... たまふ, こころ; not one kana: 日 = ひ by chance)


@lru_cache(maxsize=1)
def kanji_readings() -> dict[str, frozenset[str]]:
    """Kanji -> the kana strings (reading keys) a copy may write for it: each on reading in hiragana; each kun
    reading's stem alone and with every prefix of its okurigana, a final う also as ふ (historical kana: たまふ);
    ``SHORTEST`` to ``LONGEST`` kana long. From ``data/kanji_readings.tsv`` (KANJIDIC, CC BY-SA 3.0, EDRDG)."""
    out: dict[str, frozenset[str]] = {}
    with resources.files("kuzushiji").joinpath("data/kanji_readings.tsv").open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            kanji, _, readings = line.rstrip("\n").partition("\t")
            forms = set()
            for r in readings.split():
                stem, _, okuri = r.partition(".")
                forms.add(stem)
                for i in range(1, len(okuri) + 1):
                    forms.add(stem + okuri[:i])
                    if okuri[:i].endswith("う"):
                        forms.add(stem + okuri[:i - 1] + "ふ")
            keys = {"".join(map(reading_key, s)) for s in forms}
            out[kanji] = frozenset(k for k in keys if SHORTEST <= len(k) <= LONGEST)
    return out


@lru_cache(maxsize=1)
def jibo_sources() -> dict[str, set[str]]:
    """Source kanji -> the kana they are written for (the 字母 table, inverted)."""
    out: dict[str, set[str]] = {}
    for kana, kanji in hentaigana_sources().items():
        for k in kanji:
            out.setdefault(k, set()).add(kana)
    return out


def reading_weights(codes: list[str], targets: list[str], jibo_weight: float = JIBO_WEIGHT) -> np.ndarray:
    """``(len(codes), len(targets))``: how much each class counts toward each target character when a reading
    is restricted to ``targets`` (KMNIST's 10 kana, each of which "includes hentaigana variants"): 1 where the
    class reads as the target (:func:`reading_key`: dakuten, katakana, small and hentaigana forms), ``jibo_weight``
    where the class is a kanji the target kana was written with (字母: 支 or 幾 for き)."""
    col: dict[str, int] = {}  # reading -> the target it counts toward (the plain letter where several read alike)
    for j, t in enumerate(targets):
        if CODE_RE.match(t):
            key = reading_key(code_to_char(t))
            if key not in col or key == code_to_char(t):
                col[key] = j
    exact = {t: j for j, t in enumerate(targets)}
    jibo = jibo_sources()
    w = np.zeros((len(codes), len(targets)), np.float32)
    for i, code in enumerate(codes):
        if code in exact:  # a restricted class reads as itself only
            w[i, exact[code]] = 1.0
            continue
        if not CODE_RE.match(code):
            continue
        ch = code_to_char(code)
        if reading_key(ch) in col:
            w[i, col[reading_key(ch)]] = 1.0
        for kana in jibo.get(ch, ()):
            if kana in col:
                w[i, col[kana]] += jibo_weight
    return w
