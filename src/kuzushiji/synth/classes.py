"""Choosing the classifier's classes: the most frequent codes (CODH counts) that fonts really draw."""
from __future__ import annotations

import json
from pathlib import Path

from ..vocab import char_to_code, default_vocabulary
from .fonts import load_coverage


def code_frequencies(shared: str | Path) -> dict[str, int]:
    """CODH whole-dataset counts per code point (``codh_char_frequency``)."""
    d = Path(shared) / "codh_char_frequency"
    freq: dict[str, int] = {}
    for name in ("character_count_above_threshold.json", "character_count_below_threshold.json"):
        p = d / name
        if p.is_file():
            for row in json.loads(p.read_text(encoding="utf-8"))["characters"]:
                freq[row["unicode_id"]] = freq.get(row["unicode_id"], 0) + int(row["count"])
    return freq


def font_covered_codes(exclude_fonts: tuple[str, ...] = (), only_fonts: tuple[str, ...] = ()) -> set[str]:
    return {char_to_code(chr(cp)) for f, v in load_coverage().items()
            if f not in exclude_fonts and (not only_fonts or f in only_fonts) for cp in v["vocab"]}


def top_classes(shared: str | Path, n: int, exclude_fonts: tuple[str, ...] = ()) -> list[str]:
    """The ``n`` most frequent vocabulary codes that some (non-excluded) font draws."""
    vocab = default_vocabulary()
    freq = code_frequencies(shared)
    covered = font_covered_codes(exclude_fonts)
    ranked = sorted((c for c in vocab.codes if c in covered), key=lambda c: (-freq.get(c, 0), c))
    return ranked[:n]
