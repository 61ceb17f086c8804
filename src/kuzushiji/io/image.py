"""Robust page-image loading: EXIF orientation, grayscale, RGBA, 16-bit, corrupt files, huge images."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
MAX_PIXELS = 120_000_000  # 11k x 11k; larger inputs are refused, not silently eaten

Image.MAX_IMAGE_PIXELS = None  # we apply our own limit with a clear message


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the header only, EXIF orientation applied."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            orient = im.getexif().get(0x0112, 1)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(path, f"not a readable image ({e.__class__.__name__})") from None
    return (h, w) if orient in (5, 6, 7, 8) else (w, h)


def load_image(path: str | Path, mode: str = "RGB", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image as uint8 ``HxWx3`` (``mode='RGB'``) or ``HxW`` (``mode='L'``).

    16-bit and float images are rescaled to 8 bits, alpha is composited on white,
    EXIF orientation is applied. Any problem raises :class:`DataError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    if path.is_dir():
        raise DataError(path, "is a directory, not an image")
    try:
        with Image.open(path) as im:
            if im.width * im.height > max_pixels:
                raise DataError(path, f"image too large ({im.width}x{im.height} > {max_pixels} pixels)")
            im = ImageOps.exif_transpose(im)
            im.load()
            return _to_mode(im, mode)
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(path, f"not a readable image ({e.__class__.__name__}: {e})") from None


def _to_mode(im: Image.Image, mode: str) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        hi = a.max() if a.size else 1.0
        scale = 255.0 / (65535.0 if hi > 255 else max(hi, 1.0))
        im = Image.fromarray(np.clip(a * scale, 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return np.asarray(im.convert(mode))


def list_images(inputs: list[str | Path]) -> list[Path]:
    """Expand files, directories and globs into a sorted list of image paths (files kept as given)."""
    import glob

    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        elif any(ch in str(item) for ch in "*?["):
            out += sorted(Path(q) for q in glob.glob(str(item)) if Path(q).suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(p)
    return out
