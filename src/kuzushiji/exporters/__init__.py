"""Turn a recognized :class:`Page` into files. One ``Page``, many formats: the JSON record, reading-order
text, PAGE XML 2019, ALTO 4.4, TEI P5 (XML formats are Jinja2 templates in ``templates/``), and the
overlay image. ``csv`` (the competition submission) is rebuilt for a whole folder from the page JSONs.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import __version__
from ..io.atomic import atomic_write_bytes, image_bytes
from ..io.image import OVERLAY_SUFFIX  # JPEG: 100x faster to write than PNG
from ..structures import CharBox, Page
from ..visualize import draw_overlay
from .layout import page_view

FORMATS = ("json", "txt", "csv", "page", "alto", "tei")
DEFAULT_FORMATS = ("json", "txt", "csv")
SUFFIXES = {"json": ".json", "txt": ".txt", "page": ".page.xml", "alto": ".alto.xml", "tei": ".tei.xml"}
XML_FORMATS = ("page", "alto", "tei")


def parse_formats(spec: str) -> tuple[str, ...]:
    """``"txt,page"`` -> the formats in canonical order; JSON is always written (resume and the submission
    are built from it). Unknown names raise ``ValueError``."""
    names = {s.strip().lower() for s in spec.split(",") if s.strip()}
    unknown = names - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(sorted(unknown))}; choose from {','.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in names | {"json"})


def output_names(image_id: str, formats: tuple[str, ...], overlay: bool) -> list[str]:
    """The per-page file names a run writes, the JSON last (a page JSON means the page is complete)."""
    names = [image_id + SUFFIXES[f] for f in formats if f in SUFFIXES and f != "json"]
    return names + ([image_id + OVERLAY_SUFFIX] if overlay else []) + [image_id + ".json"]


def page_json(page: Page) -> str:
    return json.dumps(page.to_dict(), ensure_ascii=False, indent=1)


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@lru_cache(maxsize=None)
def _template(name: str):
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("kuzushiji.exporters", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.get_template(name)


def render(page: Page, fmt: str, created: str | None = None) -> str:
    """One page in one format, as text. ``created`` (ISO 8601) stamps the XML formats (default: now)."""
    if fmt == "json":
        return page_json(page)
    if fmt == "txt":
        return page.text + "\n"
    if fmt in XML_FORMATS:
        view = page_view(page)
        return _template(f"{fmt}.xml").render(p=view, created=created or now_iso(), version=__version__)
    raise ValueError(f"no per-page renderer for format {fmt!r}")


def page_files(page: Page, formats: tuple[str, ...] = DEFAULT_FORMATS, image: np.ndarray | None = None,
               created: str | None = None) -> dict[str, bytes]:
    """File name -> content for one page, in writing order (the JSON last); the overlay when ``image``."""
    created = created or now_iso()
    files = {page.image_id + SUFFIXES[f]: render(page, f, created).encode("utf-8")
             for f in formats if f in SUFFIXES and f != "json"}
    if image is not None:
        boxes = [CharBox(c.code, *c.box) for c in page.chars]
        files[page.image_id + OVERLAY_SUFFIX] = image_bytes(draw_overlay(image, boxes))
    files[page.image_id + ".json"] = page_json(page).encode("utf-8")
    return files


def write_files(outdir: str | Path, files: dict[str, bytes]) -> list[Path]:
    """Write each file atomically, in the given order."""
    paths = []
    for name, data in files.items():
        paths.append(Path(outdir) / name)
        atomic_write_bytes(paths[-1], data)
    return paths


def write_page(page: Page, outdir: str | Path, image: np.ndarray | None = None,
               formats: tuple[str, ...] = DEFAULT_FORMATS, created: str | None = None) -> list[Path]:
    """Write a page's files into ``outdir`` atomically, the JSON last."""
    return write_files(outdir, page_files(page, formats, image, created))
