"""The view of a page that the XML templates draw: integer boxes clamped to the page, XML-safe ids,
columns in reading order with their characters and candidates."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..structures import Page


@dataclass
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def points(self) -> str:
        """PAGE XML polygon: the four corners, clockwise from the top left."""
        return f"{self.x0},{self.y0} {self.x1},{self.y0} {self.x1},{self.y1} {self.x0},{self.y1}"


@dataclass
class GlyphView:
    id: str
    box: Box
    char: str
    conf: str  # the recognized character's probability, as written (4 decimals)
    candidates: list[tuple[str, str]]  # (character, probability) from the most likely down


@dataclass
class ColumnView:
    id: str
    box: Box
    text: str
    conf: str
    glyphs: list[GlyphView] = field(default_factory=list)


@dataclass
class PageView:
    id: str  # an XML name made from the page id
    image_id: str
    width: int
    height: int
    image: str  # the image file name, or the URL it came from
    source: str
    canvas: str
    text: str
    columns: list[ColumnView]


def xml_id(s: str) -> str:
    """A string made into an XML NCName (letters, digits, ``_ . -``; never starting with a digit)."""
    s = re.sub(r"[^A-Za-z0-9_.-]", "_", s)
    return s if re.match(r"[A-Za-z_]", s) else "p" + s


def _box(x: float, y: float, w: float, h: float, W: int, H: int) -> Box:
    x0, y0 = min(max(int(round(x)), 0), W - 1), min(max(int(round(y)), 0), H - 1)
    return Box(x0, y0, max(x0 + 1, min(int(round(x + w)), W)), max(y0 + 1, min(int(round(y + h)), H)))


def _conf(p: float) -> str:
    return f"{min(max(p, 0.0), 1.0):.4f}"


def page_view(page: Page) -> PageView:
    pid = xml_id(page.image_id)
    W, H = page.width, page.height
    columns = []
    for ci, col in enumerate(page.columns):
        cid = f"{pid}_c{ci + 1}"
        glyphs = []
        for gi, k in enumerate(col.chars):
            c = page.chars[k]
            prob = next((x.prob for x in c.candidates if x.code == c.code), c.score)
            glyphs.append(GlyphView(f"{cid}_g{gi + 1}", _box(*c.box, W, H), c.char, _conf(prob),
                                    [(x.char, _conf(x.prob)) for x in c.candidates]))
        text = "".join(g.char for g in glyphs)
        conf = _conf(sum(float(g.conf) for g in glyphs) / max(1, len(glyphs)))
        columns.append(ColumnView(cid, _box(*col.box, W, H), text, conf, glyphs))
    src = page.source
    image = src if "://" in src or not src else Path(src.split("#")[0]).name
    return PageView(pid, page.image_id, W, H, image or page.image_id, src, page.canvas, page.text, columns)
