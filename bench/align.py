"""Alignment quality: label precision and coverage on the labelled dev pages, and on the Genji manuscript
the accepted labels per side plus the text CER of the recognizer on a held-out block of sides.

    python bench/align.py [--shared ../shared/data] [--held-out 8]
    python bench/align.py --cer-only --classifier a.onnx --classifier b.onnx --memory a_memory.npz  # other models
    python bench/align.py --loo runs/accuracy_onnx6 --loo-classifiers G,K --memory-source work/genji_align2
    python bench/align.py --floor genji_aligned   # the spelling floor, from `kuzushiji align` output of the manuscript
    python bench/align.py --cer-only --validation --memory work/memory_noval.npz --head-weight 0 0.2 0.4

``--loo DIR``: each dev page aligned with its fold's models (``DIR/det1_<page>.onnx``, ``DIR/cls_<name>_<page>.onnx``
as ``bench/accuracy.py --cache`` exports them: trained without that page) and the fold's glyph memory (its 3 other
pages and ``--memory-source`` folders); the acceptance rule (48 settings of min_run x window x min_prob) is chosen per
fold, the most labels at precision >= 0.97 on the other 3 pages, and applied to the page.

``--floor DIR``: an estimate of the CER a perfect reader would still get against the Genji text, from an alignment
of manuscript sides (``DIR/alignment.csv``, ``DIR/pages.csv``): each side's text rebuilt as the page writes it
(accepted labels; a confident reading, p >= 0.9, where a box disagrees with the text or is extra; the text where
unsure; a text character without a box kept, as a missed box) and compared with its span of the text.

Dev pages (book 100241706, 4 pages, 392 truth boxes) are aligned with the book's column text; a label is
correct when its centre lies strictly inside a truth box with the same code. The manuscript (book
200010454, 63 sides, text = Genji V01) is walked in order; the last ``--held-out`` sides are never used
for labels: their text span is found by the same walk and the recognizer's page text is compared with it
after reading normalisation (no dakuten, hiragana, large kana, iteration marks spelled out), and again with a
kanji matching a kana spelling of its reading (``kuzushiji.cer.spelling_distance``: 給 = たまふ).

``--validation``: the block of ``--held-out`` sides just before the held-out block (00026_1 .. 00029_2 with the
defaults) instead, to choose settings on (its glyph memory must leave those sides out: ``--memory``); the held-out
block is then not read at all. ``--head-weight`` lists the hand head's shares to read with (default: the mode's).
The text spans are always found with the bundled models without the hand head, so every setting is compared
with the same reference.
"""
from __future__ import annotations

import argparse
import csv
import time
from itertools import product
from pathlib import Path

from kuzushiji.align import Aligner, AlignParams, label_code
from kuzushiji.cer import edit_distance, reading, spelling_distance
from kuzushiji.datasets.pages import load_pages
from kuzushiji.io.kaggle import read_train_csv
from kuzushiji.memory import GlyphMemory
from kuzushiji.predictor import MODES, Recognizer, asset_path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--held-out", type=int, default=8)
    ap.add_argument("--cer-only", action="store_true", help="only the held-out block's CER (no dev-page alignment)")
    ap.add_argument("--detector", action="append", help="read the block with these detectors (default: bundled)")
    ap.add_argument("--classifier", action="append", help="... and classifiers (default: bundled), with the bundled "
                                                          "filters and --memory (the first classifier's)")
    ap.add_argument("--memory", help="glyph memory of the first --classifier (or of the bundled one)")
    ap.add_argument("--validation", action="store_true", help="the block before the held-out one (see above)")
    ap.add_argument("--head-weight", type=float, nargs="+", help="the hand head's shares to compare (default: mode's)")
    ap.add_argument("--loo", help="folder of fold models: dev-page alignment leave-one-page-out (see above)")
    ap.add_argument("--loo-classifiers", default="G,K", help="the fold classifiers' names in --loo")
    ap.add_argument("--memory-source", action="append", default=[], help="labelled folders in each fold's memory")
    ap.add_argument("--floor", help="an alignment folder of manuscript sides: estimate the spelling floor (see above)")
    a = ap.parse_args()
    S = Path(a.shared)
    if a.loo:
        return loo_alignment(S, a)
    if a.floor:
        return spelling_floor(S, Path(a.floor))
    align_rec = Recognizer(top_k=10, lm_weight=0.0, fp_filter=False, head_weight=0.0)  # as `kuzushiji align` reads
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
        acc += len(r.accepted)
        tp += sum(right_label(b, truth[r.image_id]) for b in r.accepted)
    n = sum(len(v) for v in truth.values())
    dt = (time.perf_counter() - t) / len(pages)
    print(f"dev pages (4, {n} truth characters): {acc} accepted, label precision {tp / max(acc, 1):.3f}, "
          f"coverage {acc / n:.3f} (correct labels / truth {tp / n:.3f}); {dt:.2f} s per page")

    held_out_cer(S, a, align_rec, train_sides=True)


def loo_alignment(S: Path, a: argparse.Namespace, target: float = 0.97) -> None:
    """Label precision and coverage of dev pages aligned by models that never saw them, the acceptance rule chosen
    on the fold's other pages."""
    dev = S / "kuzushiji_pages_100241706"
    truth = dict(read_train_csv(dev / "train.csv"))
    text = (S / "codh_coordinates_text_only/100241706_columns.txt").read_text(encoding="utf-8")
    records = load_pages(dev)
    extra = [r for folder in a.memory_source for r in load_pages(folder)]
    pages = {}
    for p in sorted((dev / "images").glob("*.jpg")):
        k, fold = p.stem, Path(a.loo)
        rec = Recognizer(fold / f"det1_{k}.onnx", [fold / f"cls_{m}_{k}.onnx" for m in a.loo_classifiers.split(",")],
                         top_k=10, lm_weight=0.0, fp_filter=False)  # as `kuzushiji align` reads
        rec.memory = GlyphMemory.from_pages(rec.classifier, [r for r in records if r.image_id != k] + extra)
        pages[k] = rec.recognize(p)
    settings = list(product((2, 3, 4, 6), (1, 2, 3), (0.05, 0.1, 0.2, 0.3)))
    counts = {}  # (setting, page) -> (right labels, accepted labels)
    for st in settings:
        aligner = Aligner(text, AlignParams(min_run=st[0], window=st[1], min_prob=st[2]))
        for k, page in pages.items():
            r = aligner.align(page)
            counts[st, k] = (sum(right_label(b, truth[k]) for b in r.accepted), len(r.accepted))

    def score(st, ids):
        tp, acc = (sum(counts[st, k][i] for k in ids) for i in (0, 1))
        return tp / max(acc, 1), acc / sum(len(truth[k]) for k in ids)

    tp = acc = 0
    for k in pages:
        others = [j for j in pages if j != k]
        ok = [st for st in settings if score(st, others)[0] >= target] or settings
        best = max(ok, key=lambda st: score(st, others)[1])
        tp, acc = tp + counts[best, k][0], acc + counts[best, k][1]
        print(f"{k}: min_run {best[0]}, window {best[1]}, min_prob {best[2]} (other pages: precision "
              f"{score(best, others)[0]:.3f}, coverage {score(best, others)[1]:.3f}); this page "
              f"{counts[best, k][0]} right of {counts[best, k][1]} accepted")
    dflt = AlignParams()
    d = score((dflt.min_run, dflt.window, dflt.min_prob), list(pages))
    n = sum(len(v) for v in truth.values())
    print(f"leave-one-page-out, rule chosen per fold: label precision {tp / max(acc, 1):.3f}, coverage {acc / n:.3f} "
          f"({acc} accepted of {n}); the default rule on all pages: {d[0]:.3f} / {d[1]:.3f}")


def spelling_floor(S: Path, folder: Path, sure: float = 0.9) -> None:
    """The CER of the aligned sides' text as the pages write it (rebuilt from the alignment) against the Genji text."""
    text = Aligner("\n".join(genji_v01(S))).text
    rows: dict[str, list[dict]] = {}
    for r in csv.DictReader(open(folder / "alignment.csv", encoding="utf-8")):
        rows.setdefault(r["image_id"], []).append(r)
    dist = spelled = n = 0
    for page in csv.DictReader(open(folder / "pages.csv", encoding="utf-8")):
        start, end = int(page["text_start"]), int(page["text_end"])
        written: list[tuple[int, str]] = []  # (text position or -1, what the page writes there)
        for r in rows.get(page["image_id"], []):
            j, st, confident = int(r["text_pos"]), r["status"], float(r["pred_prob"]) >= sure
            if st == "accepted":
                written.append((j, r["char"]))
            elif st in ("matched", "mismatch", "spelled") or (st == "split" and (j, text[j]) not in written):
                written.append((j, r["pred"] if confident and st != "split" else text[j]))
            elif st == "merge":
                written.append((j, text[j: j + 2]))
            elif st == "extra" and confident:
                written.append((-1, r["pred"]))
        out, pos = [], start
        for j, ch in written:
            if j >= pos:  # text characters before it that no box covers: a missed box
                out.append(text[pos:j])
                pos = j + 1
            out.append(ch)
        out.append(text[pos:end])
        hyp, ref = reading("".join(out)), reading(text[start:end])
        dist, spelled, n = dist + edit_distance(hyp, ref), spelled + spelling_distance(hyp, ref), n + len(ref)
    print(f"{len(rows)} sides, {n} text characters: the pages as written against the text, CER {dist / n:.3f} "
          f"(kanji = a kana spelling of its reading: {spelled / n:.3f})")


def genji_v01(S: Path) -> list[str]:
    """The lines of Genji volume V01 (the manuscript's text)."""
    return [r["text"] for r in csv.DictReader(open(S / "genji_transcription/genji_text_lines.csv", encoding="utf-8"))
            if r["vol"] == "V01"]


def right_label(b, truth: list) -> bool:
    """An accepted label is right when its box centre lies strictly inside a truth box with the same code."""
    code = label_code(b.label)
    cx, cy = b.box[0] + b.box[2] / 2, b.box[1] + b.box[3] / 2
    return any(x.code == code and x.contains(cx, cy) for x in truth)


def held_out_cer(S: Path, a: argparse.Namespace, align_rec: Recognizer, train_sides: bool = False) -> None:
    """The manuscript walked in order (with ``train_sides``: its labels counted), the held-out block's CER in both
    modes with the bundled models or the given ones."""
    aligner, train, held, held_spans = walk_manuscript(S, align_rec, a.held_out, a.validation)
    if train_sides:
        accepted, boxes = sum(len(r.accepted) for r in train), sum(len(r.boxes) for r in train)
        print(f"manuscript, {len(train)} training sides ({train[0].image_id} .. {train[-1].image_id}): {boxes} boxes, "
              f"{accepted} accepted labels ({accepted / max(boxes, 1):.1%})")
    block = "validation" if a.validation else "held-out"
    for mode, share in product(("fast", "accurate"), a.head_weight or [None]):
        if a.detector or a.classifier:
            rec = Recognizer(a.detector, a.classifier, mode=mode, fp_filter=asset_path(MODES[mode]["fp_filter"]),
                             memory=a.memory if a.classifier else None, head_weight=share)
        else:
            rec = Recognizer(mode=mode, memory=a.memory, head_weight=share)
        cer, n_read, n_ref, kanji_cer = block_cer(rec, held, aligner.text, held_spans, spelling=True)
        print(f"manuscript {block} block {held[0].stem} .. {held[-1].stem} (text {held_spans[0].start}-"
              f"{max(r.end for r in held_spans)}), {mode} mode, head {rec.head_weight:g}: {n_read} characters read, "
              f"{n_ref} in the reference, CER {cer:.3f} (kanji = its kana spelling: {kanji_cer:.3f})", flush=True)


def walk_manuscript(S: Path, align_rec: Recognizer, held_out: int = 8, validation: bool = False
                    ) -> tuple[Aligner, list, list[Path], list]:
    """The manuscript's sides aligned in order with Genji V01: the aligner, the alignments of the sides before the
    block, the block's last ``held_out`` sides (with ``validation``: the ``held_out`` sides before those) and their
    alignments (text spans)."""
    aligner = Aligner("\n".join(genji_v01(S)))
    sides = sorted((S / "codh_pages_unlabeled/images").glob("200010454_*.jpg"))
    if validation:
        sides = sides[:-held_out]
    train = [aligner.align(align_rec.recognize(p)) for p in sides[:-held_out]]
    block = sides[-held_out:]
    return aligner, train, block, [aligner.align(align_rec.recognize(p)) for p in block]


def block_reference(text: str, spans: list) -> str:
    """The reference of a block: the text from where the walk puts its first side to the furthest end it finds,
    after reading normalisation."""
    return reading(text[spans[0].start: max(r.end for r in spans)])


def block_cer(rec: Recognizer, sides: list[Path], text: str, spans: list, spelling: bool = False) -> tuple:
    """CER of a block of consecutive sides against the text from where the walk puts the first side to
    the furthest end it finds (boundaries between the sides are not needed: the least certain part), characters
    read and in the reference; with ``spelling`` also the CER with :func:`spelling_distance`."""
    ref = block_reference(text, spans)
    hyp = reading("".join(rec.recognize(p).text.replace("\n", "") for p in sides))
    out = (edit_distance(hyp, ref) / max(len(ref), 1), len(hyp), len(ref))
    return out + (spelling_distance(hyp, ref) / max(len(ref), 1),) if spelling else out

if __name__ == "__main__":
    main()
