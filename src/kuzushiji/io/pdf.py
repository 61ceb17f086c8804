"""PDF input: each page rendered to an RGB image (pypdfium2), checked against the same pixel limit
as every other page."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .image import MAX_PIXELS


def _open(path: Path):
    import pypdfium2 as pdfium

    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        raise DataError(path, f"not a readable PDF ({e})") from None


def pdf_page_count(path: str | Path) -> int:
    doc = _open(Path(path))
    try:
        return len(doc)
    finally:
        doc.close()


def render_pdf_page(path: str | Path, index: int, dpi: float = 200, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Page ``index`` (0-based) at ``dpi`` as uint8 ``HxWx3``; too many pixels -> :class:`DataError`."""
    path = Path(path)
    doc = _open(path)
    where = f"{path}#page={index + 1}"
    try:
        if not 0 <= index < len(doc):
            raise DataError(where, f"no such page (the PDF has {len(doc)})")
        page = doc[index]
        w, h = page.get_size()  # points (1/72 inch)
        scale = dpi / 72.0
        if w * scale * h * scale > max_pixels:
            raise DataError(where, f"page too large at {dpi:g} dpi ({w * scale:.0f}x{h * scale:.0f} > {max_pixels} pixels)")
        try:
            im = page.render(scale=scale).to_pil()
        except Exception as e:  # pdfium reports damaged content streams as generic errors
            raise DataError(where, f"cannot render ({e.__class__.__name__}: {e})") from None
        return np.asarray(im.convert("RGB"))
    finally:
        doc.close()
