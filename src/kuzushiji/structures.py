"""Result and label types, in one module: character boxes, predicted points, recognized pages."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class CharBox:
    """A labelled character box; ``x, y`` is the top-left corner in full-resolution pixels."""

    code: str
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def contains(self, px: float, py: float) -> bool:
        """Strictly inside, as the competition's metric decides a hit."""
        return self.x < px < self.x + self.w and self.y < py < self.y + self.h


@dataclass(frozen=True)
class CharPoint:
    """A predicted character: a label at a point (the competition's submission unit)."""

    code: str
    x: float
    y: float


@dataclass
class Candidate:
    code: str
    char: str
    prob: float


@dataclass
class Char:
    """One recognized character on a page."""

    box: tuple[float, float, float, float]  # x, y, w, h (top-left, full-resolution pixels)
    code: str
    char: str
    score: float  # detection score x classification probability
    det_score: float
    candidates: list[Candidate] = field(default_factory=list)
    column: int = -1  # index of its column in reading order
    estimated: bool = False  # the column reader read it where no detected box was: its box is an estimate

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)


@dataclass
class Column:
    """A vertical text column; ``chars`` are indices into ``Page.chars``, top to bottom."""

    chars: list[int]
    box: tuple[float, float, float, float]


@dataclass
class Page:
    """A recognized page: characters, their columns in reading order, and timings."""

    image_id: str
    width: int
    height: int
    chars: list[Char] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    source: str = ""  # the file (or image URL) the page was read from, when it came from one
    canvas: str = ""  # the IIIF canvas id, when the page came from a IIIF manifest

    @property
    def text(self) -> str:
        """The page text: one column per line, columns right to left, each top to bottom."""
        return "\n".join("".join(self.chars[i].char for i in col.chars) for col in self.columns)

    def points(self) -> list[CharPoint]:
        return [CharPoint(c.code, *c.center) for c in self.chars]

    @classmethod
    def from_dict(cls, d: dict) -> "Page":
        """A page from its JSON layout (:meth:`to_dict`, or the web app's page with corrections applied)."""
        chars = [Char(tuple(c["box"]), c["code"], c["char"], float(c["score"]), float(c.get("det_score", c["score"])),
                      [Candidate(a["code"], a["char"], float(a["prob"])) for a in c.get("candidates", [])],
                      int(c.get("column", -1)), bool(c.get("estimated", False))) for c in d["chars"]]
        columns = [Column(list(k["chars"]), tuple(k["box"])) for k in d.get("columns", [])]
        return cls(d["image_id"], int(d["width"]), int(d["height"]), chars, columns, {}, d.get("source", ""),
                   d.get("canvas", ""))

    def to_dict(self) -> dict:
        """Everything but the timings, so identical runs write identical files."""
        d = asdict(self)
        del d["timings"]
        for c, cd in zip(self.chars, d["chars"]):
            cd["center"] = list(c.center)
        d["text"] = self.text
        return d
