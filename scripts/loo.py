"""Leave-one-page-out on the real dev pages: fine-tune on the other pages (+ synthetic data),
score the held-out page, sum the counts over all folds.

  python scripts/loo.py detector --init runs/det_synth/last.pt --synth work/synth_det --out runs/det_loo
  python scripts/loo.py classifier --init runs/cls_synth/last.pt --synth work/crops_train --out runs/cls_loo

Thresholds are chosen on the fold's training pages, never on the page being scored.
Writes OUT/loo.json with per-fold and total numbers, for the synthetic-only start and the fine-tuned model.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from kuzushiji.datasets.crops import from_pages
from kuzushiji.datasets.detection import load_mem_pages
from kuzushiji.datasets.pages import load_pages, write_subset
from kuzushiji.metrics import Counts
from kuzushiji.io.crop import READ_PAD
from kuzushiji.train.common import load_model

REAL = "../shared/data/kuzushiji_pages_100241706"


def detector(a) -> dict:
    from kuzushiji.train.detector import THRESHOLDS, DetectorConfig, detection_counts, predict_pages, train_detector

    recs = load_pages(a.real)
    out = Path(a.out)
    res: dict = {"folds": {}, "total": {}}
    totals = {"synthetic_only": Counts(), "finetuned": Counts()}
    dev = torch.device("cpu")
    for held in recs:
        train_recs = [r for r in recs if r is not held]
        run = out / f"det_{held.image_id}"
        init = a.init.format(fold=held.image_id)
        if a.epochs:
            sub = write_subset(train_recs, out / f"data_{held.image_id}")
            extra = [e.format(fold=held.image_id) for e in a.extra]
            train_detector(DetectorConfig(data=[a.synth, str(sub), *extra],
                                          weights=[1.0, a.real_weight] + [a.extra_weight] * len(extra),
                                          neg_weights=[1.0, 1.0] + [a.extra_neg_weight] * len(extra), out=str(run),
                                          init=init, epochs=a.epochs, iters=a.iters, lr=a.lr, height=a.height,
                                          max_pages=a.max_pages, threads=a.threads, resume=True, seed=a.seed))
        fold = {}
        for name, ckpt in [("synthetic_only", init), ("finetuned", run / "last.pt")]:
            if not Path(ckpt).is_file():
                continue
            model, ck = load_model(ckpt)
            h = ck["config"]["height"]
            tr, te = load_mem_pages(train_recs, h), load_mem_pages([held], h)
            otr, ote = predict_pages(model, tr, dev), predict_pages(model, te, dev)
            t = max(THRESHOLDS, key=lambda t: detection_counts(tr, otr, t).f1)
            c = detection_counts(te, ote, t)
            totals[name] += c
            fold[name] = {"threshold": t, "tp": c.tp, "fp": c.fp, "fn": c.fn, "f1": round(c.f1, 4)}
        res["folds"][held.image_id] = fold
        print(held.image_id, fold, flush=True)
    for k, c in totals.items():
        res["total"][k] = {"tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": round(c.precision, 4),
                           "recall": round(c.recall, 4), "f1": round(c.f1, 4)}
    return res


def classifier(a) -> dict:
    from kuzushiji.train.classifier import ClassifierConfig, train_classifier
    from kuzushiji.train.scoring import accuracy_report, predict_logits, to_labels

    recs = load_pages(a.real)
    out = Path(a.out)
    res: dict = {"folds": {}, "total": {}}
    hits = {"synthetic_only": [], "finetuned": []}
    dev = torch.device("cpu")
    for held in recs:
        train_recs = [r for r in recs if r is not held]
        run = out / f"cls_{held.image_id}"
        sub = write_subset(train_recs, out / f"data_{held.image_id}")
        init = a.init.format(fold=held.image_id)
        extra = [e.format(fold=held.image_id) for e in a.extra]
        if a.epochs:
            train_classifier(ClassifierConfig(sources=[a.synth, str(sub), *extra],
                                              repeat=[1, a.repeat] + [a.extra_repeat] * len(extra), out=str(run), init=init,
                                              epochs=a.epochs, lr=a.lr, cap=a.cap, min_per_class=1, threads=a.threads,
                                              resume=True, seed=a.seed, batch=128))
        fold = {}
        for name, ckpt in [("synthetic_only", init), ("finetuned", run / "last.pt")]:
            if not Path(ckpt).is_file():
                continue
            model, ck = load_model(ckpt)
            crops = from_pages([held], ck["input_size"], pad=READ_PAD)  # the recognizer's framing
            logits = predict_logits(model, crops.images, dev)
            labels = to_labels(crops.codes, ck["codes"])
            r = accuracy_report(logits, labels, ck["codes"])
            hits[name] += list(logits.argmax(1) == labels)
            fold[name] = {k: r[k] for k in ("n", "in_classes", "accuracy", "top5")}
        res["folds"][held.image_id] = fold
        print(held.image_id, fold, flush=True)
    for k, h in hits.items():
        if h:
            res["total"][k] = {"n": len(h), "accuracy": round(float(np.mean(h)), 4)}
    return res


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["detector", "classifier"])
    p.add_argument("--init", required=True, help="checkpoint to start from; {fold} stands for the held-out page's id")
    p.add_argument("--synth", required=True)
    p.add_argument("--real", default=REAL)
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--iters", type=int, default=150)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--height", type=int, default=1024)
    p.add_argument("--max-pages", type=int, default=800)
    p.add_argument("--real-weight", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--cap", type=int, default=16)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--extra", action="append", default=[], help="more labelled page folders (e.g. aligned pages; for "
                                                                 "the detector, their detector/ folder); {fold} stands "
                                                                 "for the held-out page's id")
    p.add_argument("--extra-repeat", type=int, default=8, help="classifier: how many times the --extra crops count")
    p.add_argument("--extra-weight", type=float, default=1.0, help="detector: sampling weight of each --extra folder")
    p.add_argument("--extra-neg-weight", type=float, default=1.0,
                   help="detector: how much the background of the --extra folders counts (their boxes may be incomplete)")
    a = p.parse_args()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    res = (detector if a.what == "detector" else classifier)(a)
    res["args"] = vars(a)
    (Path(a.out) / "loo.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res["total"], indent=1))


if __name__ == "__main__":
    main()
