"""Cached glyph masks per (font, code point), tight-cropped, rendered once at a base size."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import ImageFont

from ..vocab import hentaigana_sources
from .fonts import FontSpec, available_fonts, hentaigana_reading, load_coverage, render_mask

BASE_PX = 96


class GlyphBank:
    """Which fonts draw which characters, and their ink masks (``uint8``, tight-cropped)."""

    def __init__(self, exclude_fonts: tuple[str, ...] = (), only_fonts: tuple[str, ...] = ()) -> None:
        cov = load_coverage()
        self.fonts: list[tuple[FontSpec, Path]] = [
            (s, p) for s, p in available_fonts()
            if s.file in cov and s.file not in exclude_fonts and (not only_fonts or s.file in only_fonts)]
        if not self.fonts:
            raise RuntimeError("no synthesis fonts installed: run scripts/install_system.sh")
        self._ft = [ImageFont.truetype(str(p), BASE_PX) for _, p in self.fonts]
        self.weights = np.array([s.weight for s, _ in self.fonts])
        self.has: dict[str, np.ndarray] = {}  # char -> indices of fonts that draw it
        per_char: dict[str, list[int]] = {}
        self.hentaigana: dict[str, list[tuple[int, str]]] = {}  # kana -> [(font idx, hentaigana char)]
        for i, (s, _) in enumerate(self.fonts):
            for cp in cov[s.file]["vocab"]:
                per_char.setdefault(chr(cp), []).append(i)
            for cp in cov[s.file]["hentaigana"]:
                kana = hentaigana_reading(cp)
                if kana:
                    self.hentaigana.setdefault(kana, []).append((i, chr(cp)))
        self.has = {c: np.array(v) for c, v in per_char.items()}
        # kana -> [(cursive font idx, source kanji)]: a kana written as the cursive form of its 字母
        cursive = {i for i, (s, _) in enumerate(self.fonts) if s.style in ("sousho", "gyosho")}
        self.jibo: dict[str, list[tuple[int, str]]] = {
            kana: [(int(i), k) for k in kanji for i in per_char.get(k, []) if i in cursive]
            for kana, kanji in hentaigana_sources().items()}
        self.jibo = {k: v for k, v in self.jibo.items() if v}
        self._cache: dict[tuple[int, str], np.ndarray] = {}

    def covered(self, char: str) -> bool:
        return char in self.has

    def pick_font(self, char: str, rng: np.random.Generator, prefer: int | None = None) -> int | None:
        idx = self.has.get(char)
        if idx is None:
            return None
        if prefer is not None and prefer in idx and rng.random() < 0.85:
            return prefer
        w = self.weights[idx]
        return int(idx[rng.choice(len(idx), p=w / w.sum())])

    def mask(self, font: int, char: str) -> np.ndarray:
        key = (font, char)
        m = self._cache.get(key)
        if m is None:
            full = render_mask(self._ft[font], char, BASE_PX)
            ys, xs = np.nonzero(full > 40)
            if len(ys) == 0:
                m = np.zeros((1, 1), np.uint8)
            else:
                m = np.ascontiguousarray(full[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1])
            self._cache[key] = m
        return m
