"""Pseudo-labelling rounds, leave-one-page-out on the dev pages.

Round r, fold k (dev page k held out): the fold's detector and round r-1 classifier read every unlabelled
real page (codh_pages_unlabeled, less the held-out Genji block); characters with detection score >=
--det-threshold and top-1 probability >= --threshold become pseudo-labels; the classifier is fine-tuned from
its round r-1 weights on synthetic crops + the fold's 3 dev pages (x20) + the pseudo-labels (+ aligned
Genji pages with --extra), then scored on page k. Each fold and round is resumable (its run folder).
Pseudo-label precision is estimated against the text-aligned labels of the Genji sides (work/genji_align).

  python scripts/pseudo_rounds.py --det-loo runs/det_loo_v2 --cls-loo runs/cls_loo_v2c --synth work/crops_train_v2c \
      --rounds 2 -o runs/pl
Writes OUT/rounds.json; OUT/r<N> is a classifier LOO folder like scripts/loo.py's (cls_<page>/last.pt).
The bundle's version keeps all dev pages (no score):
  python scripts/pseudo_rounds.py --final runs/cls_ft/last.pt --detector work/det_ft.onnx --synth ... -o runs/pl_final
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from kuzushiji import Recognizer
from kuzushiji.datasets.crops import from_pages
from kuzushiji.datasets.pages import PageRecord, load_pages, write_subset
from kuzushiji.io.atomic import atomic_write_text
from kuzushiji.io.crop import READ_PAD
from kuzushiji.io.image import list_images
from kuzushiji.io.kaggle import read_train_csv
from kuzushiji.structures import CharBox
from kuzushiji.train.classifier import ClassifierConfig, train_classifier
from kuzushiji.train.common import load_model
from kuzushiji.train.onnx_export import export_classifier, export_detector
from kuzushiji.train.scoring import predict_logits, to_labels

SHARED = Path("../shared/data")
HELD_OUT_SIDES = 8  # the last 8 Genji sides (200010454_00030_1 .. 00033_2) are never pseudo-labelled


def unlabelled_pages() -> list[Path]:
    pages = sorted((SHARED / "codh_pages_unlabeled/images").glob("*.jpg"))
    genji = [p for p in pages if p.name.startswith("200010454_")]
    return [p for p in pages if p not in genji[-HELD_OUT_SIDES:]]


def pseudo_label(rec: Recognizer, pages: list[Path], det_t: float, cls_t: float) -> list[PageRecord]:
    out = []
    for f in pages:
        page = rec.recognize(f)
        boxes = [CharBox(c.code, *c.box) for c in page.chars
                 if c.det_score >= det_t and c.candidates and c.candidates[0].prob >= cls_t and c.code == c.candidates[0].code]
        if boxes:
            out.append(PageRecord(f.stem, f, boxes))
    return out


def agreement(records: list[PageRecord], aligned: dict[str, list[CharBox]]) -> tuple[int, int]:
    """(pseudo-labels whose centre lies in a text-aligned box, how many of them carry the same code)."""
    n = same = 0
    for r in records:
        for b in r.boxes:
            hit = [a for a in aligned.get(r.image_id, []) if a.contains(b.cx, b.cy)]
            if hit:
                n += 1
                same += hit[0].code == b.code
    return n, same


def top1(ckpt: Path, held: PageRecord) -> tuple[int, int]:
    m, ck = load_model(ckpt)
    crops = from_pages([held], ck["input_size"], pad=READ_PAD)  # the recognizer's framing
    logits = predict_logits(m, crops.images, torch.device("cpu"))
    return int((logits.argmax(1) == to_labels(crops.codes, ck["codes"])).sum()), len(crops.codes)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("pages", nargs="*", help="unlabelled pages to pseudo-label (default: codh_pages_unlabeled "
                                            "without the held-out Genji block)")
    p.add_argument("--det-loo", help="detector LOO folder (scripts/loo.py detector)")
    p.add_argument("--cls-loo", help="round-0 classifier LOO folder (scripts/loo.py classifier)")
    p.add_argument("--final", help="bundle mode: this checkpoint (fine-tuned on all dev pages) goes through the "
                                   "rounds with all dev pages kept; OUT/r<N>/cls_all/last.pt")
    p.add_argument("--detector", help="bundle mode: the detector ONNX that finds the pseudo-label boxes")
    p.add_argument("--synth", required=True)
    p.add_argument("--real", default=str(SHARED / "kuzushiji_pages_100241706"))
    p.add_argument("--extra", action="append", default=[], help="more labelled page folders (e.g. aligned Genji)")
    p.add_argument("--aligned", default="work/genji_align", help="text-aligned labels to estimate precision")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--det-threshold", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("-o", "--out", required=True)
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    recs = load_pages(a.real)
    pages = list_images(a.pages) if a.pages else unlabelled_pages()
    aligned_csv = Path(a.aligned) / "train.csv"
    aligned = dict(read_train_csv(aligned_csv)) if aligned_csv.is_file() else {}
    log_path = out / "rounds.json"
    log = json.loads(log_path.read_text()) if log_path.is_file() else {}
    # a fold: (key, held-out dev page or None, its detector ONNX); --final: one fold that keeps all dev pages
    if a.final:
        folds = [("all", None, Path(a.detector))]
    else:
        folds = []
        for held in recs:
            k = held.image_id
            (out / "onnx").mkdir(exist_ok=True)
            d = out / "onnx" / f"det_{k}.onnx"
            if not d.is_file():
                export_detector(Path(a.det_loo) / f"det_{k}/last.pt", d)
            folds.append((k, held, d))
    for r in range(1, a.rounds + 1):
        row = log.get(str(r), {"folds": {}})
        for k, held, det_onnx in folds:
            if k in row["folds"]:
                continue
            init = (Path(a.final) if a.final else Path(a.cls_loo) / f"cls_{k}/last.pt") if r == 1 \
                else out / f"r{r - 1}" / f"cls_{k}/last.pt"
            run = out / f"r{r}" / f"cls_{k}"
            cls_onnx = export_classifier(init, out / f"r{r}" / f"init_{k}.onnx")
            pseudo = pseudo_label(Recognizer(det_onnx, cls_onnx, threads=a.threads), pages, a.det_threshold, a.threshold)
            n_aligned, n_same = agreement(pseudo, aligned)
            pl = write_subset(pseudo, out / f"r{r}" / f"pseudo_{k}")
            dev = write_subset([x for x in recs if x is not held], out / f"r{r}" / f"data_{k}")
            pl_src = [str(pl)] if pseudo else []  # --threshold above 1: the control without pseudo-labels
            train_classifier(ClassifierConfig(
                sources=[a.synth, str(dev), *pl_src, *a.extra], repeat=[1, 20] + [1] * len(pl_src) + [2] * len(a.extra),
                out=str(run),
                init=str(init), epochs=a.epochs, lr=5e-4, cap=16, min_per_class=1,
                threads=a.threads, resume=True, seed=r, batch=128))
            hits, n = top1(run / "last.pt", held) if held is not None else (0, 0)
            row["folds"][k] = {"pseudo_labels": sum(len(x.boxes) for x in pseudo), "in_aligned": n_aligned,
                               "agree_with_aligned": n_same, "hits": hits, "n": n}
            print(f"round {r} fold {k}: {row['folds'][k]}", flush=True)
            log[str(r)] = row
            atomic_write_text(log_path, json.dumps(log, indent=1))
        f = row["folds"].values()
        row["top1"] = round(sum(x["hits"] for x in f) / max(sum(x["n"] for x in f), 1), 4) if not a.final else None
        row["pseudo_precision_vs_aligned"] = round(sum(x["agree_with_aligned"] for x in f) /
                                                   max(sum(x["in_aligned"] for x in f), 1), 4)
        row["pseudo_labels_per_fold"] = round(float(np.mean([x["pseudo_labels"] for x in f])), 1)
        log[str(r)] = row
        atomic_write_text(log_path, json.dumps(log, indent=1))
        print(f"round {r}: LOO top-1 {row['top1']}, pseudo-label precision vs aligned text "
              f"{row['pseudo_precision_vs_aligned']}, {row['pseudo_labels_per_fold']} labels per fold", flush=True)


if __name__ == "__main__":
    main()
