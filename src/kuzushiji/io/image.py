"""The one image gate: every page or crop the project reads from a file, an array or a PIL image
passes here. Problems (missing, empty, truncated, corrupt, too many pixels, odd dtypes or channels,
NaN) raise :class:`DataError` naming the source; nothing is decoded before its size is checked.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DataError
from .jpeg import jpeg_problem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
MAX_PIXELS = 120_000_000  # 11k x 11k; larger inputs are refused before decoding, not silently eaten
MAX_FILE_BYTES = 1 << 30
OVERLAY_SUFFIX = ".overlay.jpg"  # the recognizer's review images: never read back as pages from a folder or glob

Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, with a clear message, before decoding


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(path, "file not found")
    if path.is_dir():
        raise DataError(path, "is a directory, not an image")
    size = path.stat().st_size
    if size == 0:
        raise DataError(path, "empty file (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise DataError(path, f"file too large ({size} bytes > {MAX_FILE_BYTES})")
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(path, f"cannot read ({e.strerror or e})") from None


MULTI_FRAME_FORMATS = ("TIFF", "GIF", "PNG", "WEBP")  # formats whose extra frames are pages (an MPO's are not)


def frame_count(im: Image.Image) -> int:
    """How many pages an opened image holds: its frames for TIFF, GIF, APNG and WebP, else 1."""
    return int(getattr(im, "n_frames", 1)) if im.format in MULTI_FRAME_FORMATS else 1


def image_frames(path: str | Path) -> int:
    """The number of frames (pages) of an image file, read from its headers; 1 for an unreadable file
    (whose error :func:`load_image` then reports)."""
    try:
        with Image.open(path) as im:
            return frame_count(im)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError):
        return 1


def _check_pixels(source: str | Path, w: int, h: int, max_pixels: int) -> None:
    if w * h > max_pixels:
        raise DataError(source, f"image too large ({w}x{h} > {max_pixels} pixels)")
    if w < 1 or h < 1:
        raise DataError(source, f"image has no pixels ({w}x{h})")


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


def _decode_jpeg_cv2(data: bytes) -> np.ndarray | None:
    """Fast JPEG decode through OpenCV (RGB, EXIF orientation ignored); ``None`` if OpenCV declines."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_image(path: str | Path, mode: str = "RGB", max_pixels: int = MAX_PIXELS, frame: int | None = None) -> np.ndarray:
    """Read an image file as uint8 ``HxWx3`` (``mode='RGB'``) or ``HxW`` (``mode='L'``).

    The header is checked against ``max_pixels`` before anything is decoded, whatever the suffix says;
    truncated or corrupt files are errors; 16-bit and float images are rescaled to 8 bits, alpha is composited on
    white, EXIF orientation is applied. A file of several frames (multi-page TIFF, GIF, APNG) is read one
    ``frame`` (0-based) at a time; without one it is refused, never silently cut to its first page.
    Any problem raises :class:`DataError` naming the file.
    """
    path = Path(path)
    return decode_image(_read_bytes(path), path, mode, max_pixels, frame)


def decode_image(data: bytes, source: str | Path, mode: str = "RGB", max_pixels: int = MAX_PIXELS,
                 frame: int | None = None) -> np.ndarray:
    """:func:`load_image` for bytes already in memory (an upload); ``source`` names them in errors."""
    if not data:
        raise DataError(source, "empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            _check_pixels(source, im.width, im.height, max_pixels)
            if im.format in ("JPEG", "MPO"):
                problem = jpeg_problem(data)
                if problem:
                    raise DataError(source, problem)
                # OpenCV decodes faster; rotated scans (EXIF orientation) take the PIL path below
                rgb = _decode_jpeg_cv2(data) if im.getexif().get(0x0112, 1) == 1 else None
                if rgb is not None:
                    return rgb if mode == "RGB" else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            n = frame_count(im)
            if frame is None and n > 1:
                raise DataError(source, f"holds {n} frames (pages); `kuzushiji recognize` reads each as a page "
                                        "(<name>_f0001, ...)")
            if frame:
                if not 0 <= frame < n:
                    raise DataError(source, f"has no frame {frame + 1} (it holds {n})")
                im.seek(frame)
                _check_pixels(source, im.width, im.height, max_pixels)
            im = ImageOps.exif_transpose(im)
            im.load()
            return _to_mode(im, mode, source)
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        msg = str(e).splitlines()[0][:120] if str(e) else ""
        if isinstance(e, UnidentifiedImageError):  # its message names a BytesIO object, not the file
            raise DataError(source, "not a readable image (unknown or unsupported format)") from None
        if "truncated" in msg:
            raise DataError(source, "truncated image file") from None
        raise DataError(source, f"not a readable image ({e.__class__.__name__}: {msg})") from None


def read_page(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb, gray)`` of a page file, through :func:`load_image`."""
    rgb = load_image(path)
    return rgb, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _to_mode(im: Image.Image, mode: str, source: str | Path = "image") -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = Image.fromarray(to_uint8(np.asarray(im), source), "L")
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    try:
        return np.asarray(im.convert(mode))
    except ValueError as e:  # a mode PIL cannot convert (LAB, ...)
        raise DataError(source, f"unsupported image mode {im.mode} ({e})") from None


def to_uint8(a: np.ndarray, source: str | Path = "array") -> np.ndarray:
    """Pixel values as uint8: bool -> 0/255; integers kept when all <= 255, else (16-bit) scaled by 255/65535;
    floats in [0, 1] scaled by 255, in [0, 255] kept. NaN, infinity, negative or larger values are refused."""
    a = np.asarray(a)
    if a.size == 0:
        raise DataError(source, f"empty image array (shape {a.shape})")
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo < 0:
            raise DataError(source, f"negative pixel values ({a.dtype}, min {lo})")
        if hi > 65535:
            raise DataError(source, f"pixel values beyond 16 bits ({a.dtype}, max {hi})")
        if hi <= 255:  # 8-bit data in a wider type
            return a.astype(np.uint8)
        return np.round(a.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise DataError(source, "pixel values hold NaN or infinity")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0:
            raise DataError(source, f"negative pixel values ({a.dtype}, min {lo:g})")
        if hi <= 1.0:
            return np.round(a * 255.0).astype(np.uint8)
        if hi <= 255.0:
            return np.round(a).astype(np.uint8)
        raise DataError(source, f"float pixel values must lie in [0, 1] or [0, 255] (max {hi:g})")
    raise DataError(source, f"unsupported pixel type {a.dtype}")


def as_gray(image, source: str = "array", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A page given as a numpy array (``HxW``, ``HxWx1``, ``HxWx3`` RGB, ``HxWx4`` RGBA; any of the
    dtypes :func:`to_uint8` takes) or a PIL image -> uint8 grayscale ``HxW``."""
    if isinstance(image, Image.Image):
        _check_pixels(source, image.width, image.height, max_pixels)
        return _to_mode(ImageOps.exif_transpose(image), "L", source)
    if not isinstance(image, np.ndarray):
        raise DataError(source, f"expected a numpy array, a PIL image or a path, got {type(image).__name__}")
    a = image
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise DataError(source, f"expected an HxW, HxWx1, HxWx3 or HxWx4 image, got shape {a.shape}")
    _check_pixels(source, a.shape[1], a.shape[0], max_pixels)
    a = to_uint8(a, source)
    if a.ndim == 2:
        return np.ascontiguousarray(a)
    if a.shape[2] == 4:
        alpha = a[..., 3:4].astype(np.float32) / 255.0
        a = (a[..., :3] * alpha + 255.0 * (1 - alpha)).round().astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)


def list_images(inputs: list[str | Path], warn=None, recursive: bool = False,
                suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Path]:
    """Expand files, directories (with ``recursive``, their subfolders too) and globs into a sorted list of
    paths whose suffix is in ``suffixes`` (files given by name are kept as given).

    A directory or glob that yields nothing is reported through ``warn`` (default: stderr)."""
    import glob

    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in (p.rglob("*") if recursive else p.iterdir())
                           if _is_page_name(q, suffixes) and q.is_file())
            if not found:
                warn(f"warning: {item}: directory holds no images ({', '.join(suffixes)})"
                     + ("" if recursive else "; --recursive looks in subfolders"))
        elif any(ch in str(item) for ch in "*?["):
            found = sorted(Path(q) for q in glob.glob(str(item), recursive=recursive) if _is_page_name(Path(q), suffixes))
            if not found:
                warn(f"warning: {item}: pattern matches no images")
        else:
            found = [p]
        out += found
    return out


def _is_page_name(p: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> bool:
    return p.suffix.lower() in suffixes and not p.name.endswith(OVERLAY_SUFFIX)
