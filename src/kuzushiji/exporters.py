"""Turn recognized pages into files: JSON, reading-order text, competition CSV, overlay PNG."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .io.atomic import atomic_save_image, atomic_write_text
from .io.kaggle import format_points, write_label_rows
from .metrics import MAX_PREDICTIONS_PER_PAGE
from .structures import CharBox, CharPoint, Page
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


def submission_labels(page: Page) -> str:
    """The page's submission labels: at most 1,200 ``U+XXXX cx cy`` triples, highest scores first."""
    chars = sorted(page.chars, key=lambda c: -c.score)[:MAX_PREDICTIONS_PER_PAGE]
    return format_points(CharPoint(c.code, *c.center) for c in chars)


def write_submission_rows(path: str | Path, rows: dict[str, str]) -> None:
    """``submission.csv`` from per-page labels, sorted by image id."""
    write_label_rows(path, {k: rows[k] for k in sorted(rows)})
