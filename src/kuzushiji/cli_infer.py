"""Inference commands: recognize pages, classify crops (torch not needed)."""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path


def cmd_recognize(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .errors import DataError
    from .exporters import write_page
    from .io.image import list_images, read_page
    from .io.output_folder import OutputFolder, assign_page_ids, unique_inputs
    from .predictor import Recognizer

    def say(msg: str) -> None:
        tqdm.write(msg, file=sys.stderr)

    files = unique_inputs(list_images(a.inputs, warn=say))
    if not files:
        print("error: no input images found", file=sys.stderr)
        return 2
    out = OutputFolder(a.output, files, a.into_input_folder)
    rec = Recognizer(a.detector, a.classifier, threads=a.threads, det_threshold=a.threshold, tta=a.tta,
                     lm_weight=0.0 if a.no_lm else None, det_scales=(0.9, 1.0, 1.1) if a.det_tta else (1.0,))
    done = failed = skipped = 0
    try:
        for i, (f, image_id) in enumerate(tqdm(list(zip(files, assign_page_ids(files))), desc="recognize",
                                               unit="page", disable=a.quiet)):
            try:
                if a.resume and out.is_done(image_id, f, a.overlay):
                    skipped += 1
                    continue
                out.check_writable(image_id, f)
                rgb, gray = read_page(f)
                page = rec.recognize(gray, image_id)
                page.source = str(f.resolve())
                write_page(page, out.path, rgb if a.overlay else None)
                done += 1
            except DataError as e:
                failed += 1
                say(f"error: {e}")
            except Exception as e:  # one bad page never stops the batch
                failed += 1
                say(f"error: {f}: {e.__class__.__name__}: {e}")
            if i % 50 == 49:
                out.rebuild_submission()
    finally:  # also on Ctrl-C: the submission holds every finished page
        rows = out.rebuild_submission(warn=say)
    print(f"{done} page(s) recognized, {skipped} already done, {failed} failed; {rows} row(s) in "
          f"{out.path / 'submission.csv'}; per page <id>.json, <id>.txt" + (", <id>.overlay.jpg" if a.overlay else ""))
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
        except DataError as e:  # the next input is still classified
            failed += 1
            print(f"error: {e}", file=sys.stderr)
            continue
        probs = clf.predict(x, restrict)
        for i, p in enumerate(probs):
            for r, k in enumerate(np.argsort(-p)[: a.top_k]):
                code = clf.codes[k]
                w.writerow([src, i, r + 1, code, chr(int(code[2:], 16)) if code.startswith("U+") else code, f"{p[k]:.5f}"])
        sys.stdout.flush()
    return 1 if failed else 0


def cmd_align(a: argparse.Namespace) -> int:
    """Align pages with a known transcription; write real labels (Kaggle layout) and a review trail."""
    from tqdm import tqdm

    from .align import AlignParams, align_to_folder
    from .errors import DataError
    from .io.image import list_images
    from .io.output_folder import OutputFolder, unique_inputs
    from .predictor import Recognizer

    def say(msg: str) -> None:
        tqdm.write(msg, file=sys.stderr)

    try:
        text = Path(a.text).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(a.text, f"cannot read the text as UTF-8 ({e.__class__.__name__})") from None
    files = unique_inputs(list_images(a.inputs, warn=say))
    if not files:
        print("error: no input images found", file=sys.stderr)
        return 2
    out = OutputFolder(a.output, files)
    rec = Recognizer(a.detector, a.classifier, threads=a.threads, top_k=10, lm_weight=0.0)
    params = AlignParams(min_run=a.min_run, window=a.window, min_prob=a.min_prob)
    pages, failed, labels = align_to_folder(files, text, out.path, rec, params, a.overlay, say, progress=not a.quiet)
    print(f"{pages} page(s) aligned, {failed} failed; {labels} accepted labels in {out.path / 'train.csv'} "
          f"(images in train_images/); every box in alignment.csv, spans in pages.csv")
    return 1 if failed else 0


def _threshold(s: str) -> float:
    from .predictor import check_threshold

    try:
        return check_threshold(float(s))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e) if "between" in str(e) else f"not a number: {s!r}") from None


def add_commands(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("recognize", help="read pages: characters, text in reading order, competition CSV")
    r.add_argument("inputs", nargs="+", help="image files, directories or globs")
    r.add_argument("-o", "--output", required=True, help="output folder")
    r.add_argument("--overlay", action="store_true", help="also write <id>.overlay.jpg with the characters drawn")
    r.add_argument("--resume", action="store_true", help="skip pages whose outputs are complete")
    r.add_argument("--into-input-folder", action="store_true", help="allow -o to be a folder that holds inputs")
    r.add_argument("--detector", help="detector ONNX (default: bundled)")
    r.add_argument("--classifier", help="classifier ONNX (default: bundled)")
    r.add_argument("--threshold", type=_threshold, help="detection score threshold in (0, 1) (default: the model's)")
    r.add_argument("--tta", action="store_true", help="classify two framings of each character and average")
    r.add_argument("--no-lm", action="store_true", help="turn off language-model rescoring")
    r.add_argument("--det-tta", action="store_true", help="detect at 0.9/1.0/1.1 of the working height and fuse boxes")
    r.add_argument("--threads", type=int, default=0)
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_recognize)

    al = sub.add_parser("align", help="align pages with their known text: real labels (train.csv) from a transcription")
    al.add_argument("inputs", nargs="+", help="page images in reading order (files, directories, globs)")
    al.add_argument("--text", required=True, help="UTF-8 transcription in reading order (may be much longer)")
    al.add_argument("-o", "--output", required=True)
    al.add_argument("--overlay", action="store_true", help="write <id>.overlay.jpg: accepted green, aligned orange, extra red")
    al.add_argument("--min-run", type=int, default=4, help="accepted boxes lie in runs of this many matches")
    al.add_argument("--window", type=int, default=2, help="an agreeing box within this many on each side")
    al.add_argument("--min-prob", type=float, default=0.1, help="classifier probability that counts as agreeing")
    al.add_argument("--detector")
    al.add_argument("--classifier")
    al.add_argument("--threads", type=int, default=0)
    al.add_argument("--quiet", action="store_true")
    al.set_defaults(func=cmd_align)

    c = sub.add_parser("classify", help="classify character crops: image files or .npz arrays")
    c.add_argument("inputs", nargs="+")
    c.add_argument("--top-k", type=int, default=5)
    c.add_argument("--restrict", help="codes to allow: a file, a comma list, or 'kmnist'")
    c.add_argument("--classifier", help="classifier ONNX (default: bundled)")
    c.add_argument("--key", help="array key inside the .npz (default arr_0, or the only one)")
    c.add_argument("--invert", action="store_true", help="image files are light glyphs on dark")
    c.add_argument("--threads", type=int, default=0)
    c.set_defaults(func=cmd_classify)
