"""Alignment quality: label precision and coverage on the labelled dev pages, and on the Genji manuscript
the accepted labels per side plus the text CER of the recognizer on a held-out block of sides.

    python bench/align.py [--shared ../shared/data] [--held-out 8]
    python bench/align.py --cer-only --classifier a.onnx --classifier b.onnx --memory a_memory.npz  # other models

Dev pages (book 100241706, 4 pages, 392 truth boxes) are aligned with the book's column text; a label is
correct when its centre lies strictly inside a truth box with the same code. The manuscript (book
200010454, 63 sides, text = Genji V01) is walked in order; the last ``--held-out`` sides are never used
for labels: their text span is found by the same walk and the recognizer's page text is compared with it
after reading normalisation (no dakuten, hiragana, large kana, iteration marks spelled out), and again with a
kanji matching a kana spelling of its reading (``kuzushiji.cer.spelling_distance``: 給 = たまふ).
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from kuzushiji.align import Aligner, label_code
from kuzushiji.cer import edit_distance, reading, spelling_distance
from kuzushiji.io.kaggle import read_train_csv
from kuzushiji.predictor import MODES, Recognizer, asset_path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--held-out", type=int, default=8)
    ap.add_argument("--cer-only", action="store_true", help="only the held-out block's CER (no dev-page alignment)")
    ap.add_argument("--detector", action="append", help="read the block with these detectors (default: bundled)")
    ap.add_argument("--classifier", action="append", help="... and classifiers (default: bundled), with the bundled "
                                                          "filters and --memory (the first classifier's)")
    ap.add_argument("--memory", help="glyph memory of the first --classifier")
    a = ap.parse_args()
    S = Path(a.shared)
    align_rec = Recognizer(top_k=10, lm_weight=0.0, fp_filter=False)  # as `kuzushiji align` reads
    if a.cer_only:
        return held_out_cer(S, a, align_rec)

    dev = S / "kuzushiji_pages_100241706"
    truth = dict(read_train_csv(dev / "train.csv"))
    aligner = Aligner((S / "codh_coordinates_text_only/100241706_columns.txt").read_text(encoding="utf-8"))
    tp = acc = 0
    t = time.perf_counter()
    pages = sorted((dev / "images").glob("*.jpg"))
    for p in pages:
        r = aligner.align(align_rec.recognize(p))
        for b in r.accepted:
            code = label_code(b.label)
            acc += 1
            cx, cy = b.box[0] + b.box[2] / 2, b.box[1] + b.box[3] / 2
            tp += any(x.code == code and x.contains(cx, cy) for x in truth[r.image_id])
    n = sum(len(v) for v in truth.values())
    dt = (time.perf_counter() - t) / len(pages)
    print(f"dev pages (4, {n} truth characters): {acc} accepted, label precision {tp / max(acc, 1):.3f}, "
          f"coverage {acc / n:.3f} (correct labels / truth {tp / n:.3f}); {dt:.2f} s per page")

    held_out_cer(S, a, align_rec, train_sides=True)


def held_out_cer(S: Path, a: argparse.Namespace, align_rec: Recognizer, train_sides: bool = False) -> None:
    """The manuscript walked in order (with ``train_sides``: its labels counted), the held-out block's CER in both
    modes with the bundled models or the given ones."""
    lines = [r["text"] for r in csv.DictReader(open(S / "genji_transcription/genji_text_lines.csv", encoding="utf-8"))
             if r["vol"] == "V01"]
    aligner = Aligner("\n".join(lines))
    sides = sorted((S / "codh_pages_unlabeled/images").glob("200010454_*.jpg"))
    train, held = sides[: -a.held_out], sides[-a.held_out:]
    accepted = boxes = 0
    for p in train:
        r = aligner.align(align_rec.recognize(p))
        accepted += len(r.accepted)
        boxes += len(r.boxes)
    if train_sides:
        print(f"manuscript, {len(train)} training sides ({train[0].stem} .. {train[-1].stem}): {boxes} boxes, "
              f"{accepted} accepted labels ({accepted / max(boxes, 1):.1%})")
    held_spans = [aligner.align(align_rec.recognize(p)) for p in held]
    for mode in ("fast", "accurate"):
        if a.detector or a.classifier:
            rec = Recognizer(a.detector, a.classifier, mode=mode, fp_filter=asset_path(MODES[mode]["fp_filter"]),
                             memory=a.memory if a.classifier else None)
        else:
            rec = Recognizer(mode=mode)
        cer, n_read, n_ref, kanji_cer = block_cer(rec, held, aligner.text, held_spans, spelling=True)
        print(f"manuscript held-out block {held[0].stem} .. {held[-1].stem} (text {held_spans[0].start}-"
              f"{max(r.end for r in held_spans)}), {mode} mode: {n_read} characters read, {n_ref} in the reference, "
              f"CER {cer:.3f} (kanji = its kana spelling: {kanji_cer:.3f})")


def block_cer(rec: Recognizer, sides: list[Path], text: str, spans: list, spelling: bool = False) -> tuple:
    """CER of a block of consecutive sides against the text from where the walk puts the first side to
    the furthest end it finds (boundaries between the sides are not needed: the least certain part), characters
    read and in the reference; with ``spelling`` also the CER with :func:`spelling_distance`."""
    ref = reading(text[spans[0].start: max(r.end for r in spans)])
    hyp = reading("".join(rec.recognize(p).text.replace("\n", "") for p in sides))
    out = (edit_distance(hyp, ref) / max(len(ref), 1), len(hyp), len(ref))
    return out + (spelling_distance(hyp, ref) / max(len(ref), 1),) if spelling else out

if __name__ == "__main__":
    main()
