"""Glyph sources for synthetic pages: fonts (cached masks per font and code point, tight-cropped, rendered
once at a base size) and labelled crops of real hands (aligned pages, corrections, KMNIST/K49/Kanji arrays)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import ImageFont

from ..vocab import hentaigana_sources
from .fonts import FontSpec, available_fonts, hentaigana_reading, load_coverage, render_mask

BASE_PX = 96
# how often a page is written in each style: one hand per page, cursive hands dominate, print is rare
HAND_STYLES = {"sousho": 0.35, "gyosho": 0.3, "brush": 0.2, "hand": 0.1, "mincho": 0.05}


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
        self.styles = [s.style for s, _ in self.fonts]
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

    def pick_hand(self, rng: np.random.Generator) -> int:
        """The font one page is written in: a style by ``HAND_STYLES``, then a font of that style."""
        styles = [st for st in HAND_STYLES if st in self.styles]
        w = np.array([HAND_STYLES[st] for st in styles])
        style = styles[int(rng.choice(len(styles), p=w / w.sum()))]
        idx = [i for i, st in enumerate(self.styles) if st == style]
        return int(idx[int(rng.integers(len(idx)))])

    def font_for(self, char: str, hand: int, rng: np.random.Generator) -> int | None:
        """The page's font if it draws ``char``; else a font of the same style; else any that does."""
        idx = self.has.get(char)
        if idx is None:
            return None
        if hand in idx:
            return hand
        same = [i for i in idx if self.styles[i] == self.styles[hand]]
        if same:
            return int(same[int(rng.integers(len(same)))])
        return self.pick_font(char, rng)

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


def crop_to_mask(crop: np.ndarray) -> np.ndarray:
    """Ink mask (uint8, 255 = ink) of a character crop (dark on light): ink scaled between the crop's paper
    and ink levels, only the strokes connected to its central region kept (neighbours cut off), tight-cropped."""
    import cv2

    g = crop.astype(np.float32)
    paper, ink = np.percentile(g, 90), np.percentile(g, 3)
    m = np.clip((paper - g) / max(paper - ink, 1.0) * 1.3 - 0.15, 0, 1)
    binary = (m > 0.35).astype(np.uint8)
    n, lab = cv2.connectedComponents(binary)
    S = crop.shape[0]
    c0, c1 = int(S * 0.2), int(S * 0.8)
    keep = set(np.unique(lab[c0:c1, c0:c1]).tolist()) - {0}
    if not keep:
        return np.zeros((1, 1), np.uint8)
    near = cv2.dilate(np.isin(lab, list(keep)).astype(np.uint8), np.ones((3, 3), np.uint8))
    m = (m * near * 255).astype(np.uint8)
    ys, xs = np.nonzero(m > 40)
    return np.ascontiguousarray(m[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1])


class LabelledGlyphs:
    """Real glyphs by character, from labelled crops (a :class:`~kuzushiji.datasets.crops.CropSet`): any
    ``--source`` the classifier trainer takes (aligned pages, exported corrections, KMNIST/K49 ``npz:``,
    ``kkanji:``). Only masks with enough ink are kept."""

    def __init__(self, specs: list[str], size: int = 64, progress: bool = True) -> None:
        from ..datasets.crops import load_source
        from ..vocab import code_to_char

        self.masks: dict[str, list[np.ndarray]] = {}
        for spec in specs:
            cs = load_source(spec, size, progress)
            for img, code in zip(cs.images, cs.codes):
                if not str(code).startswith("U+"):
                    continue
                m = crop_to_mask(img)
                if m.shape[0] >= 8 and m.shape[1] >= 4 and (m > 127).mean() > 0.05:
                    self.masks.setdefault(code_to_char(str(code)), []).append(m)

    def __len__(self) -> int:
        return sum(len(v) for v in self.masks.values())

    def mask(self, char: str, rng: np.random.Generator) -> np.ndarray | None:
        v = self.masks.get(char)
        return v[int(rng.integers(len(v)))] if v else None
