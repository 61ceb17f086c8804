"""Inference commands: recognize pages, classify crops (torch not needed)."""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path


def cmd_recognize(a: argparse.Namespace) -> int:
    """Read pages from images, PDFs and IIIF manifests; write each page in the chosen formats."""
    from tqdm import tqdm

    from .batch import OutputOptions, RecognizerOptions, run_batch
    from .exporters import output_names, parse_formats
    from .io.output_folder import OutputFolder
    from .io.sources import expand_sources

    def say(msg: str) -> None:
        tqdm.write(msg, file=sys.stderr)

    try:
        formats = parse_formats(a.format)
    except ValueError as e:
        print(f"error: --format: {e}", file=sys.stderr)
        return 2
    sources = expand_sources(a.inputs, a.recursive, a.cache_dir, a.pdf_dpi, a.iiif_height, warn=say,
                             allow_local=a.allow_local)
    if not sources:
        print("error: no input pages found", file=sys.stderr)
        return 2
    out = OutputFolder(a.output, sorted({s.file for s in sources if s.file}), a.into_input_folder)
    rec = RecognizerOptions(tuple(a.detector or ()), tuple(a.classifier or ()), a.threads, a.threshold, a.tta,
                            not a.no_lm, a.det_tta, "accurate" if a.accurate else "fast",
                            False if a.no_fp_filter else a.fp_filter, False if a.no_memory else a.memory, a.head_weight,
                            a.reader, a.column_reader, a.column_weak)
    r = run_batch(sources, out, rec, OutputOptions(formats, a.overlay), a.engine, a.address, a.resume, not a.quiet,
                  say, a.workers)
    print(f"{r.done} page(s) recognized, {r.skipped} already done, {r.failed} failed"
          + (f"; {r.rows} row(s) in {out.path / 'submission.csv'}" if "csv" in formats else "")
          + "; per page " + ", ".join(output_names("<id>", formats, a.overlay)))
    return 1 if r.failed else 0


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
    if restrict is not None and not set(restrict) & set(clf.codes):
        print(f"error: --restrict {a.restrict}: none of its codes is a class of {clf.path.name}", file=sys.stderr)
        return 2
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
    from .io.image import list_images
    from .io.output_folder import OutputFolder, unique_inputs
    from .io.text import read_text
    from .predictor import Recognizer

    def say(msg: str) -> None:
        tqdm.write(msg, file=sys.stderr)

    text = read_text(a.text)
    files = unique_inputs(list_images(a.inputs, warn=say))
    if not files:
        print("error: no input images found", file=sys.stderr)
        return 2
    out = OutputFolder(a.output, files)
    # the aligner decides about boxes; the hand head reads with the mode's share, as recognize does (pass
    # --head-weight 0 when the memory was fitted to earlier labels of these pages: it would vote for their mistakes)
    rec = Recognizer(a.detector, a.classifier, threads=a.threads, top_k=10, lm_weight=0.0,
                     mode="accurate" if a.accurate else "fast", fp_filter=False,
                     memory=False if a.no_memory else a.memory, head_weight=a.head_weight, reader="chars")
    given = {"min_run": a.min_run, "window": a.window, "min_prob": a.min_prob}
    params = AlignParams(**{k: v for k, v in given.items() if v is not None})
    pages, failed, labels = align_to_folder(files, text, out.path, rec, params, a.overlay, say, progress=not a.quiet)
    print(f"{pages} page(s) aligned, {failed} failed; {labels} accepted labels in {out.path / 'train.csv'} "
          f"(images in train_images/); every box in alignment.csv, spans in pages.csv")
    return 1 if failed else 0


def _new_memory_path(output: str) -> Path:
    """Where a memory will be written: never over an existing file, and refused now, before any page is read,
    when its folder cannot take a file."""
    from .errors import DataError

    out = Path(output)
    if out.exists():
        raise DataError(out, "exists; choose a new name (a memory is never overwritten)")
    try:
        tempfile.TemporaryFile(dir=out.parent or ".").close()
    except OSError as e:
        raise DataError(out, f"cannot write there ({e.strerror or e})") from None
    return out


def _save_memory(mem, out: Path) -> None:
    from .errors import DataError

    try:
        mem.save(out)
    except OSError as e:
        raise DataError(out, f"cannot write the memory ({e.strerror or e})") from None


def cmd_memory(a: argparse.Namespace) -> int:
    """Build a glyph memory from labelled page folders."""
    from .datasets.pages import load_pages
    from .inference.classifier import OnnxClassifier
    from .memory import GlyphMemory
    from .predictor import asset_path

    out = _new_memory_path(a.output)
    clf = OnnxClassifier(a.classifier or asset_path("classifier.onnx"), threads=a.threads)
    records = [r for folder in a.inputs for r in load_pages(folder)]
    mem = GlyphMemory.from_pages(clf, records, [str(x) for x in a.inputs])
    if a.extend:
        base = asset_path("memory.npz") if a.extend == "bundled" else Path(a.extend)
        mem = GlyphMemory.load(base).merged(mem, base)
    if not a.no_head and len(mem):
        mem = mem.with_head()
    _save_memory(mem, out)
    print(f"{len(mem)} characters of {len(set(mem.labels.tolist()))} classes from {len(records)} page(s) "
          f"remembered in {out} (for {clf.path.name}" + ("" if mem.head is None else ", with a hand head") + ")")
    return 0


def cmd_adapt(a: argparse.Namespace) -> int:
    """Adapt the glyph memory to a book from its own unlabelled pages."""
    import cv2

    from .adapt import adapt, base_memory
    from .errors import DataError
    from .io.sources import expand_sources
    from .predictor import Recognizer

    out = _new_memory_path(a.output)
    sources = expand_sources(a.inputs, a.recursive, warn=lambda m: print(m, file=sys.stderr))
    if not sources:
        raise DataError(" ".join(a.inputs), "no input pages found")
    rec = Recognizer(mode="accurate" if a.accurate else "fast", memory=False, threads=a.threads, reader="chars")
    base = base_memory(getattr(a, "from"), rec.classifier)
    pages = [(s.page_id, lambda s=s: cv2.cvtColor(s.load(), cv2.COLOR_RGB2GRAY)) for s in sources]
    mem = adapt(rec, pages, a.rounds, a.min_prob, base, say=lambda m: print(m, file=sys.stderr), per_class=a.per_class)
    _save_memory(mem, out)
    print(f"{out}: {len(mem)} glyphs of {len(set(mem.labels.tolist()))} characters (with a hand head); read the book "
          f"with: kuzushiji recognize PAGES -o out --memory {out}")
    return 0


def _threshold(s: str) -> float:
    from .predictor import check_threshold

    try:
        return check_threshold(float(s))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e) if "between" in str(e) else f"not a number: {s!r}") from None


def _share(s: str) -> float:
    from .predictor import check_share

    try:
        return check_share(float(s))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e) if "between" in str(e) else f"not a number: {s!r}") from None


def _dpi(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not 20 <= v <= 1200:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must lie between 20 and 1200, got {s}")
    return v


def _page_args(r: argparse.ArgumentParser) -> None:
    """The options of ``recognize`` and ``batch``: inputs, outputs, models."""
    r.add_argument("inputs", nargs="+", help="image files, PDFs, folders, globs, IIIF manifests (URL or .json)")
    r.add_argument("-o", "--output", required=True, help="output folder")
    r.add_argument("--format", default="json,txt,csv",
                   help="comma list of json,txt,csv,page,alto,tei (default json,txt,csv; JSON is always written)")
    r.add_argument("--overlay", action="store_true", help="also write <id>.overlay.jpg with the characters drawn")
    r.add_argument("--resume", action="store_true", help="skip pages whose outputs are complete")
    r.add_argument("--recursive", action="store_true", help="look for pages in subfolders of folders too")
    r.add_argument("--into-input-folder", action="store_true", help="allow -o to be a folder that holds inputs")
    r.add_argument("--pdf-dpi", type=_dpi, default=200, help="resolution PDF pages are rendered at, 20-1200 (default 200)")
    r.add_argument("--iiif-height", type=int, help="ask IIIF image servers for this height (default: the full image)")
    r.add_argument("--cache-dir", help="where downloaded IIIF images are kept (default ~/.cache/kuzushiji/iiif)")
    r.add_argument("--allow-local", action="store_true",
                   help="let IIIF manifests name local files and loopback or private addresses (default: only "
                        "http(s) to public addresses)")
    r.add_argument("--accurate", action="store_true",
                   help="slower, more accurate: multi-scale detection, classifier ensemble, false-positive filter")
    r.add_argument("--detector", action="append", help="detector ONNX (default: bundled); repeat to fuse several")
    r.add_argument("--classifier", action="append", help="classifier ONNX (default: bundled); repeat to ensemble")
    r.add_argument("--fp-filter", help="false-positive filter JSON (bench/accuracy.py --save-filter)")
    r.add_argument("--no-fp-filter", action="store_true", help="keep every detected box (also with --accurate)")
    r.add_argument("--memory", help="glyph memory of the (first) classifier (`kuzushiji memory`; default: the bundled one "
                                    "with the bundled classifier)")
    r.add_argument("--no-memory", action="store_true", help="no glyph memory")
    r.add_argument("--head-weight", type=_share, help="share of the memory's hand head in the class probabilities, "
                                                     "0-1 (default 0.2; 0: not used)")
    r.add_argument("--reader", choices=("chars", "columns", "both"),
                   help="chars: box by box (the fast default); columns: each column read whole (CTC; manuscripts); "
                        "both (the --accurate default): the column text with the detected boxes aligned to it and "
                        "estimated boxes where none was found, on pages the column reader is sure of")
    r.add_argument("--column-reader", help="the column reader's ONNX (`export columns`; default: bundled)")
    r.add_argument("--column-weak", type=_share, default=0.0,
                   help="with --reader columns/both: the detector's weaker peaks, from this score (e.g. 0.2), also "
                        "outline columns, so a column whose characters were missed is read (default 0: off)")
    r.add_argument("--threshold", type=_threshold, help="detection score threshold in (0, 1) (default: the model's)")
    r.add_argument("--tta", action="store_true", help="classify two framings of each character and average")
    r.add_argument("--no-lm", action="store_true", help="turn off language-model rescoring")
    r.add_argument("--det-tta", action="store_true", help="detect at 0.9/1.0/1.1 of the working height and fuse boxes")
    r.add_argument("--threads", type=int, default=0)
    r.add_argument("--quiet", action="store_true")


def add_commands(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("recognize", help="read pages: characters, text in reading order, competition CSV, XML")
    _page_args(r)
    r.set_defaults(func=cmd_recognize, engine="local", address=None, workers=0)

    b = sub.add_parser("batch", help="recognize many pages on this machine or a Ray cluster (same outputs)")
    _page_args(b)
    b.add_argument("--engine", choices=("local", "ray"), default="local", help="where pages are read (default: local)")
    b.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    b.add_argument("--workers", type=int, default=0, help="Ray workers (default: one per CPU)")
    b.set_defaults(func=cmd_recognize)

    al = sub.add_parser("align", help="align pages with their known text: real labels (train.csv) from a transcription")
    al.add_argument("inputs", nargs="+", help="page images in reading order (files, directories, globs)")
    al.add_argument("--text", required=True, help="UTF-8 transcription in reading order (may be much longer)")
    al.add_argument("-o", "--output", required=True, help="output folder (Kaggle layout: train.csv, train_images/)")
    al.add_argument("--overlay", action="store_true", help="write <id>.overlay.jpg: accepted green, aligned orange, extra red")
    al.add_argument("--min-run", type=int, help="accepted boxes lie in runs of this many matches (default 2)")
    al.add_argument("--window", type=int, help="an agreeing box within this many on each side (default 3)")
    al.add_argument("--min-prob", type=float, help="classifier probability that counts as agreeing (default 0.05)")
    al.add_argument("--detector", action="append", help="detector ONNX (default: bundled); repeat to fuse several")
    al.add_argument("--classifier", action="append", help="classifier ONNX (default: bundled); repeat to ensemble")
    al.add_argument("--accurate", action="store_true", help="read the pages in the accurate mode (multi-scale detection, "
                                                            "the classifier ensemble; every box kept)")
    al.add_argument("--memory", help="glyph memory of the (first) classifier (default: the bundled one with the bundled "
                                     "classifier)")
    al.add_argument("--no-memory", action="store_true", help="no glyph memory")
    al.add_argument("--head-weight", type=_share, help="share of the memory's hand head in the class probabilities, "
                                                      "0-1 (default 0.2; 0: not used)")
    al.add_argument("--threads", type=int, default=0)
    al.add_argument("--quiet", action="store_true")
    al.set_defaults(func=cmd_align)

    m = sub.add_parser("memory", help="remember labelled real characters (page folders) for recognition: a glyph memory")
    m.add_argument("inputs", nargs="+", help="page folders in Kaggle layout (train.csv + images): `align` output, "
                                           "`export-corrections` output, CODH books")
    m.add_argument("-o", "--output", required=True, help="memory file (.npz); never overwritten")
    m.add_argument("--classifier", help="the classifier it is for (default: bundled)")
    m.add_argument("--extend", help="a memory to add these pages to ('bundled': the bundled one, with the bundled "
                                    "classifier)")
    m.add_argument("--no-head", action="store_true", help="do not fit a hand head to the remembered glyphs")
    m.add_argument("--threads", type=int, default=0)
    m.set_defaults(func=cmd_memory)

    ad = sub.add_parser("adapt", help="adapt to a book from its own pages, no labels: a book memory to read it with")
    ad.add_argument("inputs", nargs="+", help="the book's pages: image files, PDFs, folders, globs")
    ad.add_argument("-o", "--output", required=True, help="the book memory (.npz); never overwritten")
    ad.add_argument("--rounds", type=int, default=2, help="read, remember, read again: how many times (default 2)")
    ad.add_argument("--min-prob", type=float, default=0.5,
                    help="a reading is kept when every source agrees and its probability reaches this (default 0.5)")
    ad.add_argument("--per-class", type=int, default=30,
                    help="remember at most this many readings of a character, the most certain (default 30)")
    ad.add_argument("--from", default="bundled", help="the memory to start from and keep: 'bundled' (default), "
                                                      "'none', or a memory file of the bundled classifier")
    ad.add_argument("--accurate", action="store_true", help="read in the accurate mode")
    ad.add_argument("--recursive", action="store_true", help="look for pages in subfolders of folders too")
    ad.add_argument("--threads", type=int, default=0)
    ad.set_defaults(func=cmd_adapt)

    c = sub.add_parser("classify", help="classify character crops: image files or .npz arrays")
    c.add_argument("inputs", nargs="+", help="crop images and .npz arrays of crops (N, H, W)")
    c.add_argument("--top-k", type=int, default=5, help="candidates per crop (default 5)")
    c.add_argument("--restrict", help="codes to allow: a file, a comma list, or 'kmnist'")
    c.add_argument("--classifier", help="classifier ONNX (default: bundled)")
    c.add_argument("--key", help="array key inside the .npz (default arr_0, or the only one)")
    c.add_argument("--invert", action="store_true", help="image files are light glyphs on dark")
    c.add_argument("--threads", type=int, default=0)
    c.set_defaults(func=cmd_classify)
