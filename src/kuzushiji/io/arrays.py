"""KMNIST / Kuzushiji-49 ``.npz`` arrays, their class maps, and Kuzushiji-Kanji folders."""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DataError
from .image import MAX_PIXELS, to_uint8
from ..vocab import CODE_RE

# KMNIST's 10 classes (the KMNIST paper): お き す つ な は ま や れ を
KMNIST_CODES = ["U+304A", "U+304D", "U+3059", "U+3064", "U+306A", "U+306F", "U+307E", "U+3084", "U+308C", "U+3092"]


MAX_ARRAY_BYTES = 4 << 30  # one array of an .npz, as declared in its header


def npz_headers(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each array's ``(shape, dtype)`` in an ``.npz``, read from the headers only (nothing is decompressed)."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
                if version not in read:
                    raise ValueError(f"npy format version {version} not supported")
                shape, _, dtype = read[version](f)
            out[info.filename[:-4]] = (tuple(int(n) for n in shape), dtype)
    return out


def check_npz(path: str | Path, max_bytes: int = MAX_ARRAY_BYTES, image_pixels: int | None = None) -> None:
    """Refuse (:class:`DataError`) an ``.npz`` whose headers declare an array over ``max_bytes``, or, with
    ``image_pixels``, images (the last two axes) over that many pixels: before anything is decompressed, so
    a 300-byte file cannot ask for 900 TiB, nor a small compressed one expand to gigabytes."""
    try:
        headers = npz_headers(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise DataError(path, f"unreadable or truncated npz ({e.__class__.__name__}: {str(e)[:80]})") from None
    for key, (shape, dtype) in headers.items():
        n = int(np.prod(shape, dtype=object)) * (dtype.itemsize or 1)
        if n > max_bytes:
            raise DataError(path, f"array {key!r} too large ({'x'.join(map(str, shape))} {dtype}, "
                                  f"{n} bytes > {max_bytes})")
        if image_pixels and len(shape) >= 2 and shape[-1] * shape[-2] > image_pixels:
            raise DataError(path, f"array {key!r} holds images too large ({shape[-1]}x{shape[-2]} > "
                                  f"{image_pixels} pixels)")


def load_npz_array(path: str | Path, key: str | None = None) -> np.ndarray:
    """Load one array from an ``.npz`` (``arr_0`` by default, else the only key, else ``images``), its
    headers checked first (:func:`check_npz`, with the image gate's pixel limit)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    check_npz(path, image_pixels=MAX_PIXELS)
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if not keys:
                raise DataError(path, "npz holds no arrays")
            if key is None:
                key = next((k for k in ("arr_0", "images") if k in keys), keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise DataError(path, f"npz holds several arrays {keys}; pick one with --key")
            if key not in keys:
                raise DataError(path, f"no array {key!r}; keys are {keys}")
            return z[key]
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise DataError(path, f"unreadable or truncated npz ({e.__class__.__name__}: {e})") from None


def load_glyph_arrays(images: str | Path, labels: str | Path | None = None,
                      images_key: str | None = None, labels_key: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Images ``(N, H, W)`` uint8 (white glyph on black) and optional labels ``(N,)``.

    ``labels`` may be a second ``.npz`` or a key inside ``images`` (e.g. ``images``/``labels``).
    """
    x = load_npz_array(images, images_key)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise DataError(images, f"expected (N, H, W) images, got shape {x.shape}")
    if 0 in x.shape:
        raise DataError(images, f"no images in the array (shape {x.shape})")
    y = None
    if labels is not None:
        y = load_npz_array(labels, labels_key).astype(np.int64).reshape(-1)
        if len(y) != len(x):
            raise DataError(labels, f"{len(y)} labels for {len(x)} images")
    return to_uint8(x, images), y


def read_classmap(path: str | Path) -> list[str]:
    """``k49_classmap.csv`` (``index,codepoint,char``) -> codes by class index."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    codes: dict[int, str] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise DataError(path, "empty CSV (no header)")
        for row_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < 2:
                raise DataError(path, f"expected index,codepoint[,char], got {len(row)} columns", row_no)
            try:
                idx = int(row[0])
            except ValueError:
                raise DataError(path, f"bad class index {row[0]!r}", row_no) from None
            code = row[1].strip()
            if not CODE_RE.match(code):
                raise DataError(path, f"bad code point {code!r}", row_no)
            codes[idx] = code
    if sorted(codes) != list(range(len(codes))):
        raise DataError(path, "class indices are not 0..N-1")
    return [codes[i] for i in range(len(codes))]


def iter_kkanji(root: str | Path) -> Iterator[tuple[str, Path]]:
    """Yield ``(code, png_path)`` from ``kkanji2/U+XXXX/*.png``."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "not a directory")
    for d in sorted(root.iterdir()):
        if d.is_dir() and CODE_RE.match(d.name):
            for p in sorted(d.glob("*.png")):
                yield d.name, p
