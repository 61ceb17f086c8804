"""KMNIST / Kuzushiji-49 ``.npz`` arrays, their class maps, and Kuzushiji-Kanji folders."""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DataError
from .image import to_uint8
from ..vocab import CODE_RE

# KMNIST's 10 classes (the KMNIST paper): お き す つ な は ま や れ を
KMNIST_CODES = ["U+304A", "U+304D", "U+3059", "U+3064", "U+306A", "U+306F", "U+307E", "U+3084", "U+308C", "U+3092"]


def load_npz_array(path: str | Path, key: str | None = None) -> np.ndarray:
    """Load one array from an ``.npz`` (``arr_0`` by default, else the only key, else ``images``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
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
