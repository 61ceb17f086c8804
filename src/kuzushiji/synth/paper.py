"""Real paper for synthetic pages: blank backgrounds and ink colours taken from real scans.

A scan's ink is removed by a grey-level closing (a max filter wider than any stroke, then a median blur),
which leaves the paper as it was scanned: its colour and its slow shading, stains, show-through from the
reverse side, the page edges, the gutter and the scanner's border. Fine fibre texture is added back as noise.
The ink colour of each scan is the median colour of its darkest pixels.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..io.image import load_image

WORK_HEIGHT = 640  # backgrounds are kept at this height (smooth by construction) and resized per page


def blank_paper(rgb: np.ndarray, stroke: int = 15) -> np.ndarray:
    """The page without its ink: closing with a ``stroke``-px square, then a median blur (uint8 RGB)."""
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (stroke, stroke))
    closed = cv2.dilate(rgb, k)  # max filter: dark strokes thinner than the kernel disappear
    closed = cv2.erode(closed, k)  # back to the paper's own edges (the page border stays where it is)
    return cv2.medianBlur(closed, 9)


def ink_colour(rgb: np.ndarray) -> np.ndarray:
    """Median RGB of the darkest 3 % of pixels (the ink as scanned)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    t = np.percentile(gray, 3)
    return np.median(rgb[gray <= t], axis=0).astype(np.float32)


class PaperBank:
    """Backgrounds and ink colours of a set of real scans (none of the pages a model is evaluated on)."""

    def __init__(self, files: list[Path]) -> None:
        self.papers: list[np.ndarray] = []
        self.inks: list[np.ndarray] = []
        for f in files:
            rgb = load_image(f)
            h, w = rgb.shape[:2]
            small = cv2.resize(rgb, (max(2, round(w * WORK_HEIGHT / h)), WORK_HEIGHT), interpolation=cv2.INTER_AREA)
            self.papers.append(blank_paper(small))
            self.inks.append(ink_colour(small))
        if not self.papers:
            raise ValueError("PaperBank needs at least one scan")

    def __len__(self) -> int:
        return len(self.papers)

    def paper(self, rng: np.random.Generator, H: int, W: int) -> np.ndarray:
        """A float32 ``HxWx3`` background: one scan's paper, flipped at random, cropped to the page's aspect."""
        p = self.papers[int(rng.integers(len(self.papers)))]
        if rng.random() < 0.5:
            p = p[:, ::-1]
        if rng.random() < 0.3:
            p = p[::-1]
        h, w = p.shape[:2]
        want = W / H  # crop a window of the page's aspect (a spread from one page is stretched instead)
        if w / h > want * 1.05:
            cw = int(h * want)
            x = int(rng.integers(0, w - cw + 1))
            p = p[:, x: x + cw]
        out = cv2.resize(np.ascontiguousarray(p), (W, H), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        fib = cv2.resize(rng.normal(0, 1, (H // 3, W // 3)).astype(np.float32), (W, H)) * rng.uniform(1.5, 5)
        return out + fib[..., None]

    def ink(self, rng: np.random.Generator) -> np.ndarray:
        base = self.inks[int(rng.integers(len(self.inks)))]
        return np.clip(base + rng.normal(0, 6, 3), 0, 120).astype(np.float32)


def default_paper_files(shared: str | Path, held_out: int = 8) -> list[Path]:
    """Scans whose paper the generator may use: the Genji manuscript's sides except its last ``held_out``
    (the block the text CER is measured on) and two woodblock pages of other books. Never the dev pages
    (100241706) nor the other unlabelled pages, which ``bench/realism.py`` keeps as real references."""
    d = Path(shared) / "codh_pages_unlabeled/images"
    genji = sorted(d.glob("200010454_*.jpg"))
    return genji[: len(genji) - held_out] + sorted(d.glob("200017458_*.jpg")) + sorted(d.glob("200019865_*.jpg"))
