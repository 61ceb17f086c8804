"""Inference commands: recognize pages, classify crops (torch not needed)."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


def _labels_from_json(path: Path) -> str:
    from .exporters import submission_labels
    from .structures import Char, Page

    d = json.loads(path.read_text(encoding="utf-8"))
    chars = [Char(tuple(c["box"]), c["code"], c["char"], c["score"], c["det_score"]) for c in d["chars"]]
    return submission_labels(Page(d["image_id"], d["width"], d["height"], chars))


def cmd_recognize(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .errors import DataError
    from .exporters import submission_labels, write_page, write_submission_rows
    from .io.image import list_images
    from .predictor import Recognizer, read_page

    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    files = list_images(a.inputs)
    if not files:
        print("error: no input images found", file=sys.stderr)
        return 2
    rec = Recognizer(a.detector, a.classifier, threads=a.threads, det_threshold=a.threshold, tta=a.tta,
                     lm_weight=0.0 if a.no_lm else None)
    rows: dict[str, str] = {}
    failed = 0
    for f in tqdm(files, desc="recognize", unit="page", disable=a.quiet):
        image_id = f.stem
        done = out / f"{image_id}.json"
        try:
            if a.resume and done.is_file():
                rows[image_id] = _labels_from_json(done)
                continue
            rgb, gray = read_page(f)
            page = rec.recognize(gray, image_id)
            write_page(page, out, rgb if a.overlay else None)
            rows[image_id] = submission_labels(page)
        except DataError as e:
            failed += 1
            tqdm.write(f"error: {e}", file=sys.stderr)
        except Exception as e:  # one bad page never stops the batch
            failed += 1
            tqdm.write(f"error: {f}: {e.__class__.__name__}: {e}", file=sys.stderr)
        if len(rows) % 20 == 0:
            write_submission_rows(out / "submission.csv", rows)
    write_submission_rows(out / "submission.csv", rows)
    print(f"{len(rows)} page(s) recognized, {failed} failed; outputs in {out}/ (submission.csv, <id>.json, <id>.txt"
          + (", <id>.png)" if a.overlay else ")"))
    return 1 if failed else 0


def cmd_classify(a: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from .errors import DataError
    from .inference.classifier import OnnxClassifier
    from .io.arrays import KMNIST_CODES, load_glyph_arrays
    from .io.image import load_image
    from .predictor import asset_path

    clf = OnnxClassifier(a.classifier or asset_path("classifier.onnx"), threads=a.threads)
    restrict = None
    if a.restrict == "kmnist":
        restrict = KMNIST_CODES
    elif a.restrict:
        p = Path(a.restrict)
        restrict = p.read_text().split() if p.is_file() else a.restrict.replace(",", " ").split()
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["source", "index", "rank", "code", "char", "prob"])
    failed = 0
    for src in a.inputs:
        try:
            if src.endswith(".npz"):
                x, _ = load_glyph_arrays(src, None, a.key)
                x = 255 - x  # KMNIST convention: white glyph on black
            else:
                x = load_image(src, "L")[None]
                if a.invert:
                    x = 255 - x
            x = np.stack([cv2.resize(i, (clf.size, clf.size), interpolation=cv2.INTER_AREA) for i in x])
            probs = clf.predict(x, restrict)
            for i, p in enumerate(probs):
                for r, k in enumerate(np.argsort(-p)[: a.top_k]):
                    code = clf.codes[k]
                    w.writerow([src, i, r + 1, code, chr(int(code[2:], 16)) if code.startswith("U+") else code, f"{p[k]:.5f}"])
        except DataError as e:
            failed += 1
            print(f"error: {e}", file=sys.stderr)
    return 1 if failed else 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("recognize", help="read pages: characters, text in reading order, competition CSV")
    r.add_argument("inputs", nargs="+", help="image files, directories or globs")
    r.add_argument("-o", "--output", required=True, help="output folder")
    r.add_argument("--overlay", action="store_true", help="also write <id>.png with the characters drawn")
    r.add_argument("--resume", action="store_true", help="skip pages whose <id>.json exists")
    r.add_argument("--detector", help="detector ONNX (default: bundled)")
    r.add_argument("--classifier", help="classifier ONNX (default: bundled)")
    r.add_argument("--threshold", type=float, help="detection score threshold (default: the model's)")
    r.add_argument("--tta", action="store_true", help="classify two framings of each character and average")
    r.add_argument("--no-lm", action="store_true", help="turn off language-model rescoring")
    r.add_argument("--threads", type=int, default=0)
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_recognize)

    c = sub.add_parser("classify", help="classify character crops: image files or .npz arrays")
    c.add_argument("inputs", nargs="+")
    c.add_argument("--top-k", type=int, default=5)
    c.add_argument("--restrict", help="codes to allow: a file, a comma list, or 'kmnist'")
    c.add_argument("--classifier", help="classifier ONNX (default: bundled)")
    c.add_argument("--key", help="array key inside the .npz (default arr_0, or the only one)")
    c.add_argument("--invert", action="store_true", help="image files are light glyphs on dark")
    c.add_argument("--threads", type=int, default=0)
    c.set_defaults(func=cmd_classify)
