"""The three readers side by side (`recognize --reader chars|columns|both`): text CER on the Genji held-out block,
competition F1 and CER on the dev book's 4 pages, hiragana recall on 200021869, seconds per page.

The column reader never saw the Genji held-out block, the dev book or 200021869 (it is trained on synthetic pages
and the 47 Genji sides before the validation block). The detector and classifiers were fine-tuned on the dev book:
its rows measure the readers on pages the character pipeline knows (in-sample for it, not for the column reader).

    python bench/columns.py --column-reader runs/columns.onnx [--mode fast]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crossbook import SHARED, books  # noqa: E402

from kuzushiji import Recognizer  # noqa: E402
from kuzushiji.cer import edit_distance, edit_ops, reading  # noqa: E402
from kuzushiji.metrics import match_page  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(SHARED))
    ap.add_argument("--mode", default="fast")
    ap.add_argument("--column-reader", help="the column reader's ONNX (default: bundled)")
    ap.add_argument("--readers", nargs="+", default=["chars", "columns", "both", "both:columns"],
                    help="both (= both:boxes): the boxes keep their readings, the column reader only adds what no box "
                         "covers; both:columns: the column text is the text")
    ap.add_argument("--min-insert", type=float, nargs="+", default=[0.5],
                    help="both:boxes: the column reader's probability a character no box covers needs to be added")
    ap.add_argument("--column-weak", type=float, nargs="+", default=[0.0],
                    help="heat-map peaks from this score outline the columns the boxes miss (0: boxes only)")
    ap.add_argument("--column-lm", nargs="+", default=[None],
                    help="the column reader's language-model weight and character bonus, WEIGHT:BONUS (default: the "
                         "Recognizer's)")
    ap.add_argument("--page-confidence", action="store_true",
                    help="the column reader's mean probability per page: the Genji validation block, the dev book, "
                         "200021869 (what `both` trusts)")
    ap.add_argument("--validation", action="store_true",
                    help="only the Genji validation block (00026_1 .. 00029_2), to choose --min-insert on")
    a = ap.parse_args()
    if a.validation:
        validation(a)
        return
    if a.page_confidence:
        page_confidence(a)
        return
    dev, hira, genji = books(Path(a.shared)).values()
    dev_text: dict[str, list[str]] = {}  # each page's columns in reading order (CODH's column texts)
    for r in csv.DictReader(open(Path(a.shared) / "codh_coordinates_text_only/100241706_columns.tsv",
                                 encoding="utf-8"), delimiter="\t"):
        dev_text.setdefault(r["image"], []).append(r["text"])
    print(f"mode {a.mode}\n")
    print("| reader | Genji held-out CER | dev F1 | dev CER | 200021869 det / rec recall | s / page |\n|---|---|---|---|---|---|")
    for reader in a.readers:
        rec = make_recognizer(a, reader, a.column_weak[0], a.column_lm[0])
        t0, pages = time.perf_counter(), 0
        hyp = reading("".join(rec.recognize(p).text.replace("\n", "") for p in genji["pages"].values()))
        pages += len(genji["pages"])
        cer = edit_distance(hyp, genji["reference"]) / len(genji["reference"])
        tp = n = m = dist = ref_n = 0
        for k, path in dev["pages"].items():
            page = rec.recognize(path)
            pages += 1
            pts, truth = page.points(), dev["boxes"][k]
            tp, n, m = tp + match_page(truth, pts)[0].tp, n + len(truth), m + len(pts)
            ref = reading("".join(dev_text.get(k, [])))
            dist, ref_n = dist + edit_distance(reading(page.text.replace("\n", "")), ref), ref_n + len(ref)
        hd = hc = hn = 0
        for k, path in hira["pages"].items():
            pts = rec.recognize(path).points()
            pages += 1
            hd += match_page(hira["boxes"][k], pts, class_agnostic=True)[0].tp
            hc += match_page(hira["boxes"][k], pts)[0].tp
            hn += len(hira["boxes"][k])
        dt = (time.perf_counter() - t0) / pages
        print(f"| {reader} | {cer:.3f} | {2 * tp / (n + m):.3f} | {dist / ref_n:.3f} | {hd / hn:.3f} / {hc / hn:.3f} | "
              f"{dt:.2f} |", flush=True)


def validation(a: argparse.Namespace) -> None:
    """CER of the Genji validation block (the reference found by bench/align.py's walk) per reader and
    ``--min-insert``."""
    from align import block_reference, walk_manuscript

    walker = Recognizer(top_k=10, lm_weight=0.0, fp_filter=False, head_weight=0.0)
    aligner, _, block, spans = walk_manuscript(Path(a.shared), walker, validation=True)
    ref = block_reference(aligner.text, spans)
    print(f"Genji validation block {block[0].stem} .. {block[-1].stem}, {len(ref)} reference characters\n")
    print("| reader | min insert | column weak | LM weight : bonus | CER | sub / del / ins | s / page |\n"
          "|---|---|---|---|---|---|---|")
    for reader in a.readers:
        for m in a.min_insert if reader in ("both", "both:boxes", "both:best") else [None]:
            for weak, lm in product(*([a.column_weak, a.column_lm] if reader != "chars" else [[None], [None]])):
                rec = make_recognizer(a, reader, weak, lm)
                if m is not None:
                    rec.min_insert = m
                t0 = time.perf_counter()
                hyp = reading("".join(rec.recognize(p).text.replace("\n", "") for p in block))
                dt = (time.perf_counter() - t0) / len(block)
                lm_text = "" if reader == "chars" else f"{rec.column_lm_weight:g} : {rec.column_bonus:g}"
                ops = edit_ops(hyp, ref)
                print(f"| {reader} | {'' if m is None else m} | {'' if weak is None else weak} | {lm_text} | "
                      f"{sum(ops) / len(ref):.3f} | {' / '.join(map(str, ops))} | {dt:.2f} |", flush=True)


def page_confidence(a: argparse.Namespace) -> None:
    """The mean probability of the characters the column reader reads on each page (``--reader columns``)."""
    from align import walk_manuscript

    S = Path(a.shared)
    walker = Recognizer(top_k=10, lm_weight=0.0, fp_filter=False, head_weight=0.0)
    block = walk_manuscript(S, walker, validation=True)[2]
    dev, hira, _ = books(S).values()
    rec = make_recognizer(a, "columns", a.column_weak[0], a.column_lm[0])
    print("| pages | mean probability of the characters read, per page |\n|---|---|")
    for name, pages in (("Genji validation block", block), ("dev book 100241706", list(dev["pages"].values())),
                        ("200021869", list(hira["pages"].values()))):
        means = [float(np.mean([c.score for c in rec.recognize(p).chars] or [0.0])) for p in pages]
        print(f"| {name} ({len(pages)} pages) | {' '.join(f'{m:.2f}' for m in means)} |", flush=True)


def make_recognizer(a: argparse.Namespace, reader: str, weak: float | None, lm: str | None = None) -> Recognizer:
    """A recognizer for ``reader`` (``both:columns``: the column text as the text) with ``column_weak`` and the
    column reader's ``WEIGHT:BONUS``."""
    rec = Recognizer(mode=a.mode, reader=reader.split(":")[0], column_reader=a.column_reader)
    if lm:
        rec.column_lm_weight, rec.column_bonus = map(float, lm.split(":"))
    if ":" in reader:
        rec.both_text = reader.split(":")[1]
    if weak is not None:
        rec.column_weak = weak
    return rec


if __name__ == "__main__":
    main()
