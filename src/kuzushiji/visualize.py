"""Page overlays: boxes or points with the modern character beside each (like the seed projects)."""
from __future__ import annotations

import colorsys
from functools import lru_cache
from typing import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .structures import CharBox, CharPoint
from .utils.fonts import overlay_font_paths
from .vocab import code_to_char


@lru_cache(maxsize=64)
def _faces(size: int) -> tuple:
    return tuple(ImageFont.truetype(str(p), size) for p in overlay_font_paths()) or (ImageFont.load_default(),)


def _has_glyph(font, ch: str) -> bool:
    """Whether ``font`` draws ``ch`` itself rather than its missing-glyph box (compared with a private-use
    character, which no face here draws)."""
    if not isinstance(font, ImageFont.FreeTypeFont):
        return True
    return bytes(font.getmask(ch)) != bytes(font.getmask("\ue000"))


def _font_for(ch: str, size: int):
    """The first overlay face that has ``ch`` (else the first face)."""
    faces = _faces(size)
    return next((f for f in faces if _has_glyph(f, ch)), faces[0])


def draw_overlay(image: np.ndarray, boxes: Sequence[CharBox] = (), points: Sequence[CharPoint] = (),
                 max_side: int = 2000, colors: Sequence[tuple[int, int, int]] | None = None) -> Image.Image:
    """Return the page (faded, at most ``max_side`` px) with boxes/points and their characters.

    Each character is written to the right of its box, in a white label, so both the glyph and the
    reading can be compared at a glance.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    H, W = image.shape[:2]
    scale = min(1.0, max_side / max(H, W))
    if scale < 1:
        image = cv2.resize(image, (round(W * scale), round(H * scale)), interpolation=cv2.INTER_AREA)
    im = Image.fromarray(cv2.addWeighted(image, 0.65, np.full_like(image, 255), 0.35, 0))  # faded page
    draw = ImageDraw.Draw(im, "RGBA")
    sizes = [b.w * scale for b in boxes] or [40 * scale]
    fsize = max(12, int(np.median(sizes) * 0.6))
    for i, b in enumerate(boxes):
        color = colors[i] if colors else _color(i)
        x0, y0, x1, y1 = b.x * scale, b.y * scale, (b.x + b.w) * scale, (b.y + b.h) * scale
        draw.rectangle([x0, y0, x1, y1], outline=color + (255,), width=max(1, round(2 * scale + 1)))
        ch = code_to_char(b.code)
        _label(draw, x1 + 2, (y0 + y1) / 2 - fsize / 2, ch, _font_for(ch, fsize), color)
    for i, p in enumerate(points):
        color = _color(i) if not colors else colors[i]
        x, y = p.x * scale, p.y * scale
        r = max(3, fsize // 5)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=color + (230,))
        ch = code_to_char(p.code)
        _label(draw, x + r + 2, y - fsize / 2, ch, _font_for(ch, fsize), color)
    return im


def _label(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, font, color) -> None:
    l, t, r, b = draw.textbbox((x, y), text, font=font)
    draw.rectangle([l - 1, t - 1, r + 1, b + 1], fill=(255, 255, 255, 210))
    draw.text((x, y), text, font=font, fill=tuple(int(c * 0.6) for c in color) + (255,))


def _color(i: int) -> tuple[int, int, int]:
    h = (i * 0.61803398875) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.85, 0.85)
    return int(r * 255), int(g * 255), int(b * 255)
