"""Turn recognized pages into files: JSON, reading-order text, competition CSV, overlay PNG."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .io.atomic import atomic_save_image, atomic_write_text
from .io.image import OVERLAY_SUFFIX  # JPEG: 100x faster to write than PNG
from .structures import CharBox, Page
from .visualize import draw_overlay


def page_json(page: Page) -> str:
    return json.dumps(page.to_dict(), ensure_ascii=False, indent=1)


def write_page(page: Page, outdir: str | Path, image: np.ndarray | None = None) -> list[Path]:
    """``<id>.txt`` (and ``<id>.overlay.jpg`` when ``image`` is given), then ``<id>.json``, each atomically."""
    outdir = Path(outdir)
    paths = [outdir / f"{page.image_id}.txt"]
    atomic_write_text(paths[0], page.text + "\n")
    if image is not None:
        boxes = [CharBox(c.code, *c.box) for c in page.chars]
        paths.append(outdir / f"{page.image_id}{OVERLAY_SUFFIX}")
        atomic_save_image(paths[-1], draw_overlay(image, boxes))
    paths.append(outdir / f"{page.image_id}.json")  # last: a page JSON means the page's outputs are complete
    atomic_write_text(paths[-1], page_json(page))
    return paths
