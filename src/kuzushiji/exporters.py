"""Turn recognized pages into files: JSON, reading-order text, competition CSV, overlay PNG."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from .io.atomic import atomic_open, atomic_save_image, atomic_write_text
from .io.kaggle import format_points
from .metrics import MAX_PREDICTIONS_PER_PAGE
from .structures import CharBox, Page
from .visualize import draw_overlay


def page_json(page: Page) -> str:
    return json.dumps(page.to_dict(), ensure_ascii=False, indent=1)


def write_page(page: Page, outdir: str | Path, image: np.ndarray | None = None) -> list[Path]:
    """``<id>.json`` and ``<id>.txt`` (and ``<id>.png`` when ``image`` is given), each atomically."""
    outdir = Path(outdir)
    paths = [outdir / f"{page.image_id}.json", outdir / f"{page.image_id}.txt"]
    atomic_write_text(paths[0], page_json(page))
    atomic_write_text(paths[1], page.text + "\n")
    if image is not None:
        boxes = [CharBox(c.code, *c.box) for c in page.chars]
        paths.append(outdir / f"{page.image_id}.png")
        atomic_save_image(paths[-1], draw_overlay(image, boxes))
    return paths


def submission_row(page: Page) -> str:
    """``image_id,labels`` with at most 1,200 ``U+XXXX cx cy`` triples (highest scores first)."""
    chars = sorted(page.chars, key=lambda c: -c.score)[:MAX_PREDICTIONS_PER_PAGE]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([page.image_id, format_points(Page(page.image_id, 0, 0, chars).points())])
    return buf.getvalue()


def write_submission_rows(path: str | Path, rows: dict[str, str]) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write("image_id,labels\n")
        for image_id in sorted(rows):
            f.write(rows[image_id])
