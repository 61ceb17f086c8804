"""Render one synthetic page: layout like real books, one hand per page (a font, or real glyphs where a
labelled source has them), real paper and ink from scans, scan-like degradations.

Unlabelled on purpose (as in the real annotations): furigana, punctuation circles, page numbers,
seals, illustrations, show-through from the reverse side.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..structures import CharBox
from ..vocab import char_to_code
from .glyphs import GlyphBank, LabelledGlyphs
from .paper import PaperBank

KANA_RANGE = (0x3040, 0x30FF)


@dataclass
class PageConfig:
    height: int = 1600
    furigana: float = 0.5  # probability that a page has furigana
    show_through: float = 0.6
    frame: float = 0.6
    hentaigana: float = 0.12  # per kana, when a hentaigana glyph exists
    jibo: float = 0.0  # per kana: drawn as the cursive form of a source kanji (字母), labelled with the kana
    seal: float = 0.15
    illustration: float = 0.15
    spread: float = 0.1  # two-page spreads
    degrade: bool = True
    scale_sigma: float = 0.22  # page-to-page variation of character size (other books, manuscripts)
    max_chars: int = 1200
    hand: bool = True  # one hand per page: one font, one stroke weight, one character scale (False: the old mix)
    char_jitter: float = 0.07  # in a hand: character-to-character size variation (log-normal sigma)
    ligature: float = 0.45  # in a hand: consecutive kana joined by a tapering stroke (連綿)
    real_paper: float = 0.7  # pages on paper cut from real scans (when a PaperBank is given)
    real_glyphs: float = 0.5  # pages written with real glyphs where the labelled source has them


@dataclass
class Hand:
    """How one page is written."""

    font: int
    kana_h: float  # base heights relative to the page height (times the page's scale)
    kanji_h: float


@dataclass
class SynthPage:
    image: np.ndarray  # HxWx3 uint8
    boxes: list[CharBox] = field(default_factory=list)


def _is_kana(ch: str) -> bool:
    return KANA_RANGE[0] <= ord(ch) <= KANA_RANGE[1]


def _pct_sample(rng: np.random.Generator, st: dict) -> float:
    """Sample from a distribution summarised by percentiles (piecewise-linear quantile function)."""
    qs = np.array([0, 5, 25, 50, 75, 95, 100], float)
    lo = st["p5"] - (st["p25"] - st["p5"]) * 0.5
    hi = st["p95"] + (st["p95"] - st["p75"]) * 0.5
    vals = np.array([lo, st["p5"], st["p25"], st["p50"], st["p75"], st["p95"], hi])
    return float(np.interp(rng.random() * 100, qs, vals))


class PageRenderer:
    def __init__(self, bank: GlyphBank, text, stats: dict, cfg: PageConfig | None = None,
                 paper: PaperBank | None = None, real: LabelledGlyphs | None = None) -> None:
        self.bank, self.text, self.stats = bank, text, stats
        self.cfg = cfg or PageConfig()
        self.paper, self.real = paper, real

    def _hand(self, rng: np.random.Generator) -> tuple[Hand | None, bool]:
        """How the page is written, and whether it uses the real glyphs (where they have the character)."""
        if not self.cfg.hand:
            return None, self.real is not None and rng.random() < self.cfg.real_glyphs
        st = self.stats
        kana = _pct_sample(rng, st["kana_height"])
        ratio = st["kanji_height"]["p50"] / st["kana_height"]["p50"] * float(np.exp(rng.normal(0, 0.08)))
        real = self.real is not None and rng.random() < self.cfg.real_glyphs
        return Hand(self.bank.pick_hand(rng), kana, kana * ratio), real

    # ---------------------------------------------------------------- layout
    def render(self, rng: np.random.Generator) -> SynthPage:
        cfg = self.cfg
        H = cfg.height
        spread = rng.random() < cfg.spread
        W = int(H * rng.uniform(0.6, 0.66)) * (2 if spread else 1)
        ink = np.zeros((H, W), np.float32)
        boxes: list[CharBox] = []
        halves = [(W // 2, W), (0, W // 2)] if spread else [(0, W)]
        hand, real = self._hand(rng)
        for x0, x1 in halves:
            self._layout_half(rng, ink, boxes, x0, x1, H, hand, real)
            if len(boxes) >= cfg.max_chars:
                break
        image, boxes = self._finish(rng, ink, boxes)
        return SynthPage(image, boxes[: cfg.max_chars])

    def _layout_half(self, rng, ink, boxes, x0, x1, H, hand: Hand | None, real: bool = False):
        cfg, st = self.cfg, self.stats
        scale = float(np.exp(rng.normal(0, cfg.scale_sigma)))
        pitch = _pct_sample(rng, st["column_pitch"]) * H * scale
        top = H * rng.uniform(0.07, 0.22)
        bottom = H * rng.uniform(0.84, 0.95)
        wpage = x1 - x0
        left, right = x0 + wpage * rng.uniform(0.06, 0.14), x1 - wpage * rng.uniform(0.06, 0.14)
        n_cols = max(1, min(int((right - left) / pitch), 24))
        right = min(right, left + n_cols * pitch + pitch * 0.3)
        if rng.random() < cfg.frame:
            self._frame(rng, ink, left - pitch * 0.3, top - pitch * 0.4, right + pitch * 0.1, bottom + pitch * 0.4,
                        rules=rng.random() < 0.25, pitch=pitch, n_cols=n_cols)
        furigana = rng.random() < cfg.furigana
        prefer = self.bank.pick_font("の", rng)
        kana_h = (hand.kana_h if hand else _pct_sample(rng, st["kana_height"])) * H * scale
        for c in range(n_cols):
            cx = right - pitch * (c + 0.5) + rng.normal(0, pitch * 0.03)
            if rng.random() < 0.08:
                continue  # blank column
            heading = c == 0 and rng.random() < 0.25
            col_top = top + (rng.uniform(0, 4) * kana_h if rng.random() < 0.3 else 0)
            col_bottom = bottom if rng.random() < 0.75 else rng.uniform(col_top + 2 * kana_h, bottom)
            self._column(rng, ink, boxes, cx, col_top, col_bottom, H, scale * (1.35 if heading else 1.0),
                         pitch, prefer, furigana and not heading, hand, real)
        # page number / marginal note outside the frame (unlabelled)
        if rng.random() < 0.4:
            self._free_text(rng, ink, x0 + wpage * rng.uniform(0.02, 0.06), H * rng.uniform(0.3, 0.8), kana_h * 0.6, 2)
        if rng.random() < cfg.seal:
            self._seal(rng, ink, x0, x1, H)
        if rng.random() < cfg.illustration:
            self._illustration(rng, ink, left, top, right, bottom)

    def _column(self, rng, ink, boxes, cx, y, bottom, H, scale, pitch, prefer, furigana, hand: Hand | None = None,
                real: bool = False):
        st, bank, cfg = self.stats, self.bank, self.cfg
        text = self.text.sample(rng, min_len=8)
        start = int(rng.integers(0, max(1, len(text) // 3))) if rng.random() < 0.3 else 0
        font = prefer if rng.random() < 0.7 else bank.pick_font("の", rng)
        prev = None
        for ch in text[start:]:
            if len(boxes) >= cfg.max_chars:
                return
            kana = _is_kana(ch)
            if hand:  # one hand: the page's scale with a little jitter, the page's font or real glyphs
                h = (hand.kana_h if kana else hand.kanji_h) * H * scale * float(np.exp(rng.normal(0, cfg.char_jitter)))
                f = bank.font_for(ch, hand.font, rng)
            else:
                h = _pct_sample(rng, st["kana_height" if kana else "kanji_height"]) * H * scale
                f = bank.pick_font(ch, rng, font)
            m = self.real.mask(ch, rng) if real else None
            if m is None:
                if f is None:
                    continue
                draw_ch = ch
                if kana and ch in bank.jibo and rng.random() < cfg.jibo:
                    f, draw_ch = bank.jibo[ch][int(rng.integers(len(bank.jibo[ch])))]
                elif kana and ch in bank.hentaigana and rng.random() < cfg.hentaigana:
                    f, draw_ch = bank.hentaigana[ch][int(rng.integers(len(bank.hentaigana[ch])))]
                m = bank.mask(f, draw_ch)
            if m.shape[0] < 2 or m.shape[1] < 2:
                continue
            aspect = m.shape[1] / m.shape[0] * rng.uniform(0.85, 1.15)
            w = h * aspect
            if w > pitch * 0.95:
                w = pitch * 0.95
                h = min(h, w / max(aspect, 1e-3))
            if y + h > bottom:
                break
            x = cx - w / 2 + rng.normal(0, w * 0.06)
            box = self._paste(ink, m, x, y, w, h, rng)
            joined = False
            if box is not None:
                boxes.append(CharBox(char_to_code(ch), *box))
                if prev is not None and kana and rng.random() < (cfg.ligature if hand else 0.25):
                    self._ligature(rng, ink, prev, box)
                    joined = True
                prev = box if kana else None
                if furigana and not kana and rng.random() < 0.35:
                    self._furigana(rng, ink, box, pitch)
            gap = _pct_sample(rng, st["vertical_gap"]) * H * scale
            if hand and kana and rng.random() < 0.5:  # flowing writing: the next character tucks in
                gap -= rng.uniform(0, 0.12) * h
            y += h + gap
            if not joined and rng.random() < 0.03:  # small punctuation circle, unlabelled
                r = max(2.0, h * 0.12)
                cv2.circle(ink, (int(cx + w * 0.35), int(y)), int(r), 1.0, max(1, int(r / 3)), cv2.LINE_AA)
                y += r * 2

    # ---------------------------------------------------------------- drawing primitives
    def _paste(self, ink, m, x, y, w, h, rng) -> tuple[float, float, float, float] | None:
        wi, hi = max(2, int(round(w))), max(2, int(round(h)))
        xi, yi = int(round(x)), int(round(y))
        Hh, Ww = ink.shape
        if xi < 0 or yi < 0 or xi + wi > Ww or yi + hi > Hh:
            return None
        g = cv2.resize(m, (wi, hi), interpolation=cv2.INTER_AREA).astype(np.float32) * (1 / 255)
        roi = ink[yi: yi + hi, xi: xi + wi]
        np.maximum(roi, g, out=roi)
        return float(xi), float(yi), float(wi), float(hi)

    def _ligature(self, rng, ink, a, b):
        """A connecting stroke from the bottom of one character to the top of the next, thinning as it goes."""
        ax, ay = a[0] + a[2] * rng.uniform(0.3, 0.7), a[1] + a[3] * rng.uniform(0.85, 1.0)
        bx, by = b[0] + b[2] * rng.uniform(0.3, 0.7), b[1] + b[3] * rng.uniform(0.0, 0.15)
        if by - ay > a[3]:
            return
        mx, my = (ax + bx) / 2 + rng.normal(0, a[2] * 0.12), (ay + by) / 2
        t = np.linspace(0, 1, 8)[:, None]
        pts = (1 - t) ** 2 * [ax, ay] + 2 * (1 - t) * t * [mx, my] + t ** 2 * [bx, by]
        w0 = max(1.0, a[2] * rng.uniform(0.04, 0.08))
        for i in range(len(pts) - 1):
            th = max(1, int(round(w0 * (1 - 0.7 * i / (len(pts) - 1)))))
            p, q = pts[i].astype(int), pts[i + 1].astype(int)
            cv2.line(ink, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 0.9, th, cv2.LINE_AA)

    def _furigana(self, rng, ink, box, pitch):
        x, y, w, h = box
        n = int(rng.integers(1, 4))
        s = h * rng.uniform(0.3, 0.45)
        fx = x + w + s * 0.15
        for i in range(n):
            ch = self.text.sample(rng)[0]
            ch = ch if _is_kana(ch) else "のるにしかて"[int(rng.integers(6))]
            f = self.bank.pick_font(ch, rng)
            if f is None:
                continue
            self._paste(ink, self.bank.mask(f, ch), fx, y + i * s * 1.05, s, s, rng)

    def _free_text(self, rng, ink, x, y, size, n):
        for i in range(n):
            ch = "一二三四五六七八九十"[int(rng.integers(10))]
            f = self.bank.pick_font(ch, rng)
            if f is not None:
                self._paste(ink, self.bank.mask(f, ch), x, y + i * size * 1.1, size, size, rng)

    def _frame(self, rng, ink, x0, y0, x1, y1, rules, pitch, n_cols):
        H, W = ink.shape
        t = max(1, int(H * rng.uniform(0.001, 0.004)))
        x0, y0, x1, y1 = (int(np.clip(v, 0, lim - 1)) for v, lim in ((x0, W), (y0, H), (x1, W), (y1, H)))
        cv2.rectangle(ink, (x0, y0), (x1, y1), 0.95, t, cv2.LINE_AA)
        if rng.random() < 0.4:
            d = t * 3
            cv2.rectangle(ink, (x0 - d, y0 - d), (x1 + d, y1 + d), 0.95, max(1, t * 2), cv2.LINE_AA)
        if rules:
            for c in range(1, n_cols):
                xr = int(x1 - pitch * c - pitch * 0.1)
                if xr > x0:
                    cv2.line(ink, (xr, y0), (xr, y1), 0.7, max(1, t // 2), cv2.LINE_AA)

    def _seal(self, rng, ink, x0, x1, H):
        s = int(H * rng.uniform(0.05, 0.1))
        x = int(rng.uniform(x0 + s, x1 - 2 * s))
        y = int(rng.uniform(s, H - 2 * s))
        cv2.rectangle(ink, (x, y), (x + s, y + s), 0.6, max(2, s // 12))
        for i in range(4):  # scribbles inside, like seal script
            pts = rng.integers(0, s, size=(4, 2)) + [x, y]
            cv2.polylines(ink, [pts.astype(np.int32)], False, 0.55, max(1, s // 16))

    def _illustration(self, rng, ink, left, top, right, bottom):
        x0 = int(rng.uniform(left, (left + right) / 2))
        y0 = int(rng.uniform(top, (top + bottom) / 2))
        w, h = int((right - left) * rng.uniform(0.2, 0.5)), int((bottom - top) * rng.uniform(0.15, 0.4))
        for _ in range(int(rng.integers(15, 40))):
            pts = (rng.random((int(rng.integers(3, 8)), 2)) * [w, h] + [x0, y0]).astype(np.int32)
            cv2.polylines(ink, [pts], False, float(rng.uniform(0.5, 0.9)), int(rng.integers(1, 4)), cv2.LINE_AA)

    # ---------------------------------------------------------------- paper, ink and scan
    def _finish(self, rng, ink, boxes):
        H, W = ink.shape
        cfg = self.cfg
        # stroke width variation
        k = int(rng.choice([0, 0, 0, 1, 2]))
        if k == 1:
            ink = cv2.dilate(ink, np.ones((2, 2), np.uint8))
        elif k == 2:
            ink = cv2.erode(ink, np.ones((2, 2), np.uint8))
        # ink density varies slowly across the page
        dens = _smooth_noise(rng, H, W, 8) * rng.uniform(0.1, 0.35) + rng.uniform(0.75, 1.0)
        if rng.random() < 0.6:  # dry brush / worn woodblock: speckled gaps inside strokes
            speck = cv2.resize(rng.random((H // 2, W // 2), dtype=np.float32), (W, H))
            dens = dens * (1 - rng.uniform(0.2, 0.6) * (speck > rng.uniform(0.6, 0.85)))
        ink = np.clip(ink * dens, 0, 1)
        real = self.paper is not None and rng.random() < cfg.real_paper
        paper = self.paper.paper(rng, H, W) if real else _paper(rng, H, W)
        if rng.random() < cfg.show_through * (0.4 if real else 1.0):  # real paper often shows through already
            ghost = self._ghost(rng, H, W)
            paper = paper * (1 - ghost[..., None] * rng.uniform(0.08, 0.22))
        ink_color = (self.paper.ink(rng) if real else
                     np.array([rng.uniform(10, 50), rng.uniform(10, 45), rng.uniform(5, 40)], np.float32))
        img = paper * (1 - ink[..., None]) + ink_color * ink[..., None]
        if cfg.degrade:
            sigma = rng.uniform(0, 1.2)
            if sigma > 0.3:
                img = cv2.GaussianBlur(img, (0, 0), sigma)
            img += rng.normal(0, rng.uniform(1, 6), size=(H, W, 1)).astype(np.float32)
        img = np.clip(img, 0, 255).astype(np.uint8)
        if cfg.degrade and rng.random() < 0.5:
            img, boxes = _rotate(rng, img, boxes, rng.uniform(-1.2, 1.2))
        return img, boxes

    def _ghost(self, rng, H, W):
        """Mirrored faint text from the reverse side, rendered at quarter resolution."""
        h, w = H // 4, W // 4
        g = np.zeros((h, w), np.float32)
        pitch = h * 0.06 * float(np.exp(rng.normal(0, 0.2)))
        size = pitch * 0.55
        for c in range(int(w / pitch)):
            x = w - pitch * (c + 0.7)
            y = h * rng.uniform(0.1, 0.25)
            for ch in self.text.sample(rng, min_len=10):
                f = self.bank.pick_font(ch, rng)
                if f is None:
                    continue
                if y + size > h * 0.9:
                    break
                self._paste(g, self.bank.mask(f, ch), x, y, size, size, rng)
                y += size * 1.1
        g = cv2.GaussianBlur(g[:, ::-1], (0, 0), 1.0)
        return cv2.resize(g, (W, H), interpolation=cv2.INTER_LINEAR)


def _smooth_noise(rng, H, W, cells) -> np.ndarray:
    n = rng.random((cells, max(2, int(cells * W / H)))).astype(np.float32)
    return cv2.resize(n, (W, H), interpolation=cv2.INTER_CUBIC) - 0.5


def _paper(rng, H, W) -> np.ndarray:
    light = rng.uniform(205, 245)  # washi: light, yellowish-beige
    g = light - rng.uniform(4, 22)
    base = np.array([light, g, g - rng.uniform(12, 45)], np.float32)
    if rng.random() < 0.2:  # greyish or white paper
        base = np.full(3, rng.uniform(190, 235), np.float32)
    low = _smooth_noise(rng, H, W, 6) * rng.uniform(10, 35)
    fib = cv2.resize(rng.normal(0, 1, (H // 3, W // 3)).astype(np.float32), (W, H)) * rng.uniform(2, 7)
    paper = base[None, None, :] + (low + fib)[..., None]
    if rng.random() < 0.3:  # stains
        for _ in range(int(rng.integers(1, 4))):
            cx, cy, r = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(0.03, 0.15) * H
            yy, xx = np.ogrid[:H, :W]
            d = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))).astype(np.float32)
            paper = paper - d[..., None] * np.array([20, 30, 45], np.float32) * rng.uniform(0.3, 1)
    if rng.random() < 0.5:  # dark scanner border on one or more sides
        b = int(W * rng.uniform(0.005, 0.03))
        paper[:, :b] *= rng.uniform(0.2, 0.6)
    return paper


def _rotate(rng, img, boxes, angle):
    H, W = img.shape[:2]
    M = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    border = tuple(int(v) for v in img[H // 2, 2])
    out = cv2.warpAffine(img, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    new = []
    for b in boxes:
        pts = np.array([[b.x, b.y, 1], [b.x + b.w, b.y, 1], [b.x, b.y + b.h, 1], [b.x + b.w, b.y + b.h, 1]], np.float32)
        t = pts @ M.T
        x0, y0 = t.min(0)
        x1, y1 = t.max(0)
        # shrink the axis-aligned hull a little towards the true box size
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        new.append(type(b)(b.code, float(cx - b.w / 2), float(cy - b.h / 2), b.w, b.h))
    return out, [b for b in new if b.x >= 0 and b.y >= 0 and b.x + b.w <= W and b.y + b.h <= H]
