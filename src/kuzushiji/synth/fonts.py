"""Brush, cursive and mincho fonts from Debian, and each font's *real* coverage of the vocabulary.

A font's cmap often claims codes it draws as blanks or as one shared fallback shape. A code counts
as covered only when the cmap has it **and** its rendering has ink **and** that rendering is not
shared by several other codes (a fallback glyph).
"""
from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..utils.fonts import find_font
from ..vocab import default_vocabulary


@dataclass(frozen=True)
class FontSpec:
    file: str
    style: str  # sousho (cursive), gyosho (semi-cursive), brush, hand, mincho
    weight: float  # how often the generator picks it, among fonts that have the character


FONT_SPECS = [
    FontSpec("KouzanBrushFontSousyo.ttf", "sousho", 3.0),
    FontSpec("kouzan-mouhitsu-gyosho.ttf", "gyosho", 2.5),
    FontSpec("kouzan-mouhitsu.ttf", "brush", 1.5),
    FontSpec("aoyagi-soseki.ttf", "brush", 2.0),
    FontSpec("AoyagiKouzanT.ttf", "brush", 1.5),
    FontSpec("kiloji.ttf", "hand", 0.7),
    FontSpec("kiloji_b.ttf", "hand", 0.5),
    FontSpec("HanaMinA.ttf", "mincho", 0.6),
    FontSpec("ipamjm.ttf", "mincho", 0.6),
    FontSpec("dejima-mincho-r227.ttf", "mincho", 0.5),
]
HELD_OUT_FONT = "kiloji_b.ttf"  # excluded from classifier training to measure cross-font accuracy
HENTAIGANA = range(0x1B000, 0x1B170)
RENDER_PX = 64


def hentaigana_reading(cp: int) -> str | None:
    """``HENTAIGANA LETTER HA-3`` -> ``'は'``; None for other code points."""
    name = unicodedata.name(chr(cp), "")
    if not name.startswith("HENTAIGANA LETTER "):
        return None
    syl = name.removeprefix("HENTAIGANA LETTER ").split("-")[0]
    try:
        return unicodedata.lookup(f"HIRAGANA LETTER {syl}")
    except KeyError:
        return None


def render_mask(font: ImageFont.FreeTypeFont, char: str, px: int) -> np.ndarray:
    """Ink mask (uint8, 255 = ink) of ``char`` in a ``2px`` square canvas, centred."""
    im = Image.new("L", (px * 2, px * 2), 0)
    ImageDraw.Draw(im).text((px, px), char, font=font, fill=255, anchor="mm")
    return np.asarray(im)


def compute_coverage(path: Path, codes: list[int]) -> list[int]:
    """The codes among ``codes`` that the font at ``path`` really draws."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(path), fontNumber=0, lazy=True).getBestCmap() or {}
    font = ImageFont.truetype(str(path), RENDER_PX)
    hashes: dict[int, str] = {}
    for cp in codes:
        if cp not in cmap:
            continue
        m = render_mask(font, chr(cp), RENDER_PX)
        if (m > 127).sum() < 4:
            continue
        hashes[cp] = hashlib.md5(np.packbits(m > 127).tobytes()).hexdigest()
    shared = {h for h, n in Counter(hashes.values()).items() if n > 2}
    return sorted(cp for cp, h in hashes.items() if h not in shared)


def coverage_path() -> Path:
    return Path(__file__).resolve().parents[1] / "data" / "font_coverage.json"


def build_coverage_table(out: Path | None = None) -> dict:
    """Measure every installed font of ``FONT_SPECS`` over the vocabulary + hentaigana; save JSON."""
    vocab = [int(c[2:], 16) for c in default_vocabulary().codes]
    table = {}
    for spec in FONT_SPECS:
        p = find_font(spec.file)
        if p is None:
            continue
        covered = compute_coverage(p, vocab + list(HENTAIGANA))
        table[spec.file] = {"vocab": [cp for cp in covered if cp not in HENTAIGANA],
                            "hentaigana": [cp for cp in covered if cp in HENTAIGANA]}
    out = out or coverage_path()
    out.write_text(json.dumps(table), encoding="utf-8")
    return table


@lru_cache(maxsize=1)
def load_coverage() -> dict[str, dict[str, list[int]]]:
    p = coverage_path()
    if not p.is_file():
        return build_coverage_table(p)
    return json.loads(p.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def available_fonts() -> list[tuple[FontSpec, Path]]:
    """Fonts of ``FONT_SPECS`` installed here (``scripts/install_system.sh`` installs them)."""
    return [(s, p) for s in FONT_SPECS if (p := find_font(s.file)) is not None]
