"""Page collections in the Kaggle layout (``train.csv`` + images) or the CODH per-book layout."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..io.codh import find_books, read_coordinate_csv
from ..io.image import IMAGE_SUFFIXES, image_size
from ..io.kaggle import read_train_csv
from ..structures import CharBox
from ..vocab import Vocabulary


@dataclass
class PageRecord:
    image_id: str
    image_path: Path
    boxes: list[CharBox]


def _image_index(dirs: list[Path]) -> dict[str, Path]:
    idx: dict[str, Path] = {}
    for d in dirs:
        if d.is_dir():
            for p in d.iterdir():
                if p.suffix.lower() in IMAGE_SUFFIXES:
                    idx.setdefault(p.stem, p)
    return idx


def load_pages(root: str | Path, vocab: Vocabulary | None = None, check_sizes: bool = True) -> list[PageRecord]:
    """Load every labelled page under ``root``.

    Kaggle layout: ``root/train.csv`` with images in ``train_images/`` (or ``images/``).
    CODH layout: ``root/<book>/<book>_coordinate.csv`` with ``<book>/images/``, or a single book
    folder ``root/<book>_coordinate.csv`` / ``root/coordinate.csv`` with ``root/images/``.
    Pages listed without an image are errors; boxes outside their image are errors.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "data directory not found")
    pages: dict[str, list[CharBox]] = {}
    train_csv = root / "train.csv"
    if train_csv.is_file():
        images = _image_index([root / "train_images", root / "images"])
        sizes = {k: image_size(p) for k, p in images.items()} if check_sizes else None
        label_file = train_csv
        pages = dict(read_train_csv(train_csv, vocab, sizes))
    else:
        coord = sorted(root.glob("*coordinate.csv"))
        books = [(root, c, root / "images") for c in coord] or [(root / b, c, i) for b, c, i in find_books(root)]
        if not books:
            raise DataError(root, "no train.csv or CODH *_coordinate.csv found")
        images = _image_index([i for _, _, i in books])
        label_file = books[0][1]
        for _, c, _ in books:
            pages.update(read_coordinate_csv(c, vocab))
    out = []
    for image_id, boxes in pages.items():
        if image_id not in images:
            raise DataError(label_file, f"no image file for page {image_id}")
        out.append(PageRecord(image_id, images[image_id], boxes))
    if check_sizes:
        for rec in out:
            W, H = image_size(rec.image_path)
            for b in rec.boxes:
                if b.x + b.w > W + 1 or b.y + b.h > H + 1:
                    raise DataError(label_file, f"box {b.code} at {b.x:g},{b.y:g} size {b.w:g}x{b.h:g} outside the {W}x{H} image {rec.image_id}")
    return out


def write_subset(records: list[PageRecord], out: str | Path) -> Path:
    """Write ``records`` as a Kaggle-layout folder (``train.csv`` + linked ``train_images/``)."""
    import os

    from ..io.kaggle import write_train_csv

    out = Path(out)
    (out / "train_images").mkdir(parents=True, exist_ok=True)
    for r in records:
        dst = out / "train_images" / r.image_path.name
        if not dst.exists():
            os.symlink(r.image_path.resolve(), dst)
    write_train_csv(out / "train.csv", {r.image_id: r.boxes for r in records})
    return out
