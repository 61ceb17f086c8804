"""Evaluate submissions from files; read any label CSV the project knows."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .errors import DataError
from .io.atomic import atomic_open
from .io.codh import read_coordinate_csv
from .io.csvfile import csv_rows, header
from .io.kaggle import iter_submission, iter_train_arrays, read_submission, read_train_csv
from .metrics import MAX_PREDICTIONS_PER_PAGE, F1Report, Scorer, box_array, code_ids
from .structures import CharBox, CharPoint
from .vocab import default_vocabulary


def read_truth(path: str | Path, check_vocab: bool = True) -> dict[str, list[CharBox]]:
    """Truth boxes from a Kaggle ``train.csv`` or a CODH ``coordinate.csv``."""
    path = Path(path)
    vocab = default_vocabulary() if check_vocab else None
    if header(path)[0] == "Unicode":
        return read_coordinate_csv(path, vocab)
    return dict(read_train_csv(path, vocab))


def _holds_boxes(tokens: list[str]) -> bool:
    """``U+XXXX x y w h`` groups: a multiple of 5 fields, the 2nd to 5th numbers (a triple has a code 4th)."""
    if not tokens or len(tokens) % 5:
        return False
    try:
        [float(t) for t in tokens[1:5]]
    except ValueError:
        return False
    return True


def _file_holds_boxes(path: Path) -> bool:
    if header(path)[0] == "Unicode":
        return True
    for row_no, row in csv_rows(path):
        if row_no > 1 and len(row) == 2 and row[1].split():
            return _holds_boxes(row[1].split())
    return False


def read_labels_for_image(path: str | Path, image_id: str) -> tuple[list[CharBox], list[CharPoint]]:
    """Boxes (train.csv / coordinate.csv) or points (submission) of one page."""
    path = Path(path)
    if _file_holds_boxes(path):
        boxes = read_truth(path, check_vocab=False)
        if image_id not in boxes:
            raise DataError(path, f"no row for image {image_id}")
        return boxes[image_id], []
    points = read_submission(path)
    if image_id not in points:
        raise DataError(path, f"no row for image {image_id}")
    return [], points[image_id]


def evaluate_files(truth: str | Path, pred: str | Path, class_agnostic: bool = False,
                   per_class: bool = False, check_vocab: bool = True) -> F1Report:
    """Score a submission file against a truth file; predictions are streamed row by row."""
    pred = Path(pred)
    if _file_holds_boxes(pred):
        raise DataError(pred, "holds boxes (U+XXXX x y w h or a CODH file), not a submission's points "
                              "(U+XXXX cx cy); pass it as --truth")
    vocab = default_vocabulary() if check_vocab else None
    if header(truth)[0] == "Unicode":
        pages = {k: (box_array(v), code_ids(b.code for b in v)) for k, v in read_coordinate_csv(truth, vocab).items()}
    else:
        pages = {k: (v, code_ids(c)) for k, c, v in iter_train_arrays(truth, vocab)}
    order, known = list(pages), set(pages)
    sc = Scorer(class_agnostic, per_class)
    for image_id, codes, pts in iter_submission(pred, vocab):
        tbox, tlab = pages.pop(image_id, (np.zeros((0, 4)), np.zeros(0, np.int64)))
        sc.add(image_id, tbox, tlab, pts, code_ids(codes), in_truth=image_id in known)
    for image_id, (tbox, tlab) in pages.items():
        sc.add(image_id, tbox, tlab, np.zeros((0, 2)), np.zeros(0, np.int64))
    return sc.report(order)


def format_report(r: F1Report, per_page: bool = True) -> str:
    lines = []
    if per_page:
        lines.append(f"{'page':<28} {'TP':>6} {'FP':>6} {'FN':>6} {'prec':>7} {'recall':>7} {'F1':>7}")
        for k, c in r.pages.items():
            flag = "  (>1200 predictions)" if k in r.flagged else ("  (not in truth)" if k in r.unknown_pages else "")
            lines.append(f"{k:<28} {c.tp:>6} {c.fp:>6} {c.fn:>6} {c.precision:>7.4f} {c.recall:>7.4f} {c.f1:>7.4f}{flag}")
    t = r.total
    lines.append(f"{'ALL (' + str(len(r.pages)) + ' pages)':<28} {t.tp:>6} {t.fp:>6} {t.fn:>6} "
                 f"{t.precision:>7.4f} {t.recall:>7.4f} {t.f1:>7.4f}")
    lines.append(f"precision {t.precision:.4f}  recall {t.recall:.4f}  F1 {t.f1:.4f}")
    if r.flagged:
        lines.append(f"warning: {len(r.flagged)} page(s) exceed {MAX_PREDICTIONS_PER_PAGE} predictions: {', '.join(r.flagged[:5])}")
    if r.unknown_pages:
        lines.append(f"warning: {len(r.unknown_pages)} predicted page(s) not in the truth (counted as false positives)")
    return "\n".join(lines)


def write_per_class(r: F1Report, path: str | Path) -> None:
    from .vocab import code_to_char

    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "char", "tp", "fp", "fn", "precision", "recall", "f1"])
        for code, c in sorted(r.per_class.items(), key=lambda kv: -(kv[1].tp + kv[1].fn)):
            w.writerow([code, code_to_char(code), c.tp, c.fp, c.fn, f"{c.precision:.4f}", f"{c.recall:.4f}", f"{c.f1:.4f}"])
