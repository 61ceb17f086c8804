"""Locating the Japanese fonts installed from Debian."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FONT_DIRS = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"]

# Faces for drawing modern characters on overlays, best first (wide coverage, plain style).
OVERLAY_FONTS = ["ipamjm.ttf", "NotoSansCJK-Regular.ttc", "HanaMinA.ttf", "fonts-japanese-mincho.ttf",
                 "fonts-japanese-gothic.ttf"]


@lru_cache(maxsize=None)
def find_font(name: str) -> Path | None:
    for d in FONT_DIRS:
        if d.is_dir():
            for p in d.rglob(name):
                return p
    return None


def overlay_font_path() -> Path | None:
    for name in OVERLAY_FONTS:
        p = find_font(name)
        if p is not None:
            return p
    return None


def overlay_font_paths() -> list[Path]:
    """Every overlay face installed, best first: a character the first lacks (IPAmj has no 〱 〲) is drawn
    with the next that has it."""
    return [p for p in map(find_font, OVERLAY_FONTS) if p is not None]
