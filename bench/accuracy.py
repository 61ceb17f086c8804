"""The winners' accuracy tricks, each measured leave-one-page-out on the 4 dev pages (book 100241706) and on
the held-out Genji sides (200010454_00030_1 .. 00033_2, never used for any label).

    python bench/accuracy.py --det-loo runs/det_loo_v2 [--det-loo2 runs/det_loo_h1280] --cls-loo A=runs/cls_loo_v2c \
        --cls-loo B=runs/cls_loo_l2 \
        [--cls-loo C=runs/cls_loo_v2] [--accurate-config tta+A+B --accurate-filter --save-filter F.json] \
        [--memory-source work/genji_align2] -o runs/accuracy.json

The current bundle's numbers (bench/results/accuracy.json):

    python bench/accuracy.py --det-loo runs/det_loo_v2 --cls-loo G=runs/cls_loo_G --cls-loo K=runs/cls_loo_GF \
        --cache runs/accuracy_onnx6 --configs "single+G,single+G+K,tta+G+K" --fast-config single+G+K --fast-filter \
        --save-fast-filter fp_filter_fast.json --accurate-config tta+G+K --accurate-filter --save-filter fp_filter.json \
        --memory-source work/genji_align2 -o runs/accuracy_GK.json

For each fold (one dev page held out) the fold's detector and classifiers (trained without that page) read
every dev page and the 8 held-out Genji sides once per detector setting; the configurations below are then
assembled from those readings. The detection threshold and language-model weight (and the prior weight, if
--priors lists several) are chosen on the fold's three training pages; the fold's glyph memory holds those
three pages (and --memory-source folders). The false-positive filter of fold k is LightGBM trained on the other
folds' held-out pages (each read by its own fold's models, so the filter never sees a page its models trained
on), its threshold chosen by an inner leave-one-page-out over those pages. Reported per configuration:
competition F1 (P/R), detection F1, classifier top-1 on the truth boxes, text CER on the Genji block (mean over
the four folds' models) and seconds per page (fold-1 models, 4 dev pages, 2 threads).
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from itertools import product
from pathlib import Path

import numpy as np

from kuzushiji import Recognizer
from kuzushiji.memory import GlyphMemory
from kuzushiji.predictor import MODES
from kuzushiji.align import Aligner
from kuzushiji.cer import edit_distance, reading
from kuzushiji.datasets.pages import load_pages
from kuzushiji.fp_filter import FEATURES, best_threshold, train_filter
from kuzushiji.inference.classifier import OnnxClassifier
from kuzushiji.io.atomic import atomic_write_text
from kuzushiji.io.image import read_page
from kuzushiji.metrics import Counts, match_page
from kuzushiji.train.onnx_export import export_classifier, export_detector

SHARED = Path(__file__).resolve().parents[2] / "shared/data"
THRESHOLDS = (0.3, 0.4, 0.5)
WEIGHTS = (0.0, 0.25, 0.5, 1.0)
PRIORS = "0.5"  # prior_weight (the LM's character frequencies on the class probabilities): one fixed value, since
# features of the false-positive filter shift with it and per-fold choices (0 to 1 on 3 pages) were noise
# detector settings: which fold detectors (1: --det-loo, 2: also --det-loo2, boxes fused) at which scales
DET = {"single": (1, (1.0,), (0.0,)), "tta": (1, (0.9, 1.0, 1.1), (0.0,)), "shift": (1, (1.0,), (0.0, 0.5)),
       "ttashift": (1, (0.9, 1.0, 1.1), (0.0, 0.5)), "det2": (2, (1.0,), (0.0,)),
       "det2tta": (2, (0.9, 1.0, 1.1), (0.0,))}
CONFIGS = ("single+A,single+B,single+C,single+D,single+A+B,single+A+C,single+A+D,single+D+B,single+A+B+C,"
           "tta+A,det2+A,det2tta+A,tta+D+B,det2tta+D+B")


def genji_block() -> tuple[list[Path], str]:
    """The held-out Genji sides and their reference text (the span the aligner finds for them)."""
    sides = sorted((SHARED / "codh_pages_unlabeled/images").glob("200010454_*.jpg"))[-8:]
    lines = [r["text"] for r in csv.DictReader(open(SHARED / "genji_transcription/genji_text_lines.csv",
                                                     encoding="utf-8")) if r["vol"] == "V01"]
    aligner, rec = Aligner("\n".join(lines)), Recognizer(top_k=10, lm_weight=0.0, fp_filter=False)
    spans = [aligner.align(rec.recognize(p)) for p in sides]
    return sides, reading(aligner.text[spans[0].start: max(s.end for s in spans)])


class Ablated:
    """A filter that never sees the features ``names`` (held at 0): the same filter without them."""

    def __init__(self, names: list[str]) -> None:
        self.cols = [FEATURES.index(n) for n in names]
        self.filt = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = x.copy()
        x[:, self.cols] = 0
        return x

    def keep(self, x: np.ndarray) -> np.ndarray:
        return self.filt.keep(self(x))


def fit_filter(feats: dict, ids: list[str], truth: dict, det_threshold: float | None = None,
               ablate: Ablated | None = None):
    """The false-positive filter trained on the pages ``ids`` (features and true-positive labels from
    ``feats``), its threshold chosen by leave-one-page-out over those same pages; with ``ablate``, that filter
    wrapped so that it never sees the ablated features."""
    if ablate is not None:
        ablate.filt = fit_filter({i: (ablate(x), y) for i, (x, y) in feats.items()}, ids, truth, det_threshold)
        return ablate
    oof_p, oof_y = [], []
    for j in ids:
        f = train_filter(np.concatenate([feats[i][0] for i in ids if i != j]),
                         np.concatenate([feats[i][1] for i in ids if i != j]))
        oof_p.append(f.predict(feats[j][0]))
        oof_y.append(feats[j][1])
    thr = best_threshold(np.concatenate(oof_p), np.concatenate(oof_y), sum(len(truth[i]) for i in ids))
    return train_filter(np.concatenate([feats[i][0] for i in ids]), np.concatenate([feats[i][1] for i in ids]),
                        threshold=thr, det_threshold=det_threshold)


class Fold:
    """One fold's models and its cached readings: per page and detector setting, boxes at the lowest
    threshold and each classifier's probabilities (in the first classifier's class order)."""

    def __init__(self, dets: list[Path], classifiers: dict[str, Path], lm: str, nested: float) -> None:
        self.rec = Recognizer(dets, list(classifiers.values()), det_threshold=min(THRESHOLDS), lm=lm, lm_weight=0.5,
                              nested=nested)
        self.all_detectors = self.rec.detectors
        self.names = list(classifiers)
        self.cache: dict[tuple, tuple] = {}
        self.memories: dict[str, GlyphMemory] = {}  # per first classifier, built on the fold's training pages

    def remember(self, first: str, records: list, sources: list[str]) -> None:
        """The glyph memory of configurations led by classifier ``first``: ``records``' boxes."""
        if first not in self.memories:
            i = self.names.index(first)
            mem = GlyphMemory.from_pages(self.rec.classifiers[i], records, sources)
            codes = self.rec.classifier.codes  # probabilities here are in the fold's first classifier's class order
            if mem.codes != codes:
                pos = {c: j for j, c in enumerate(codes)}
                mem = GlyphMemory(mem.features, np.array([pos[mem.codes[k]] for k in mem.labels]), list(codes),
                                  mem.fingerprint, mem.sources)
            self.memories[first] = mem

    def read(self, path: Path, det_setting: str):
        key = (path.stem, det_setting, self.rec.crop_pads)
        if key not in self.cache:
            _, gray = read_page(path)
            n, self.rec.det_scales, self.rec.det_shifts = DET[det_setting]
            self.rec.detectors = self.all_detectors[:n]
            det = self.rec.detect(gray)
            probs, feats = self.classify(gray, det[:, :4])
            self.cache[key] = (det, probs, feats, gray.shape[1], gray.shape[0])
        return self.cache[key]

    def classify(self, gray: np.ndarray, boxes: np.ndarray) -> tuple[dict[str, np.ndarray], dict]:
        """Each classifier's probabilities and features of ``boxes``."""
        if len(boxes) == 0:
            empty = np.zeros((0, len(self.rec.classifier.codes)), np.float32)
            return {n: empty for n in self.names}, {n: None for n in self.names}
        probs, feats = self.rec.read_crops(gray, boxes)
        return dict(zip(self.names, probs)), dict(zip(self.names, feats))

    def adjusted(self, probs: dict, feats: dict, members: list[str], m=slice(None)):
        """The members' averaged probabilities with the first member's glyph memory and the prior, and their
        evidence (:meth:`Recognizer.combine`)."""
        self.rec.memory = self.memories.get(members[0])
        f = feats[members[0]]
        return self.rec.combine([probs[n][m] for n in members], [None if f is None else f[m]])

    def page(self, path: Path, det_setting: str, members: list[str], t: float, w: float, a: float, keep=None):
        det, probs, feats, W, H = self.read(path, det_setting)
        m = det[:, 4] >= t
        self.rec.lm_weight, self.rec.prior_weight = w, a
        p, ev = self.adjusted(probs, feats, members, m) if len(det) else \
            (np.zeros((0, len(self.rec.classifier.codes))), None)
        d = det[m]
        saved = self.rec.fp_filter
        self.rec.fp_filter = keep
        page = self.rec.assemble(path.stem, W, H, d, p, evidence=ev)
        self.rec.fp_filter = saved
        return page, d, p, ev


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--det-loo", required=True)
    ap.add_argument("--det-loo2", help="a second detector's LOO folder (the det2 settings fuse both)")
    ap.add_argument("--configs", default=CONFIGS, help="comma list of DETSETTING+CLASSIFIER[+CLASSIFIER...][@PAD[/PAD]]"
                                                        " (@: the crop framings, default the fast mode's)")
    ap.add_argument("--cls-loo", action="append", required=True, help="NAME=classifier LOO folder")
    ap.add_argument("--lm", default="src/kuzushiji/assets/lm.npz")
    ap.add_argument("--priors", default=PRIORS, help="comma list of prior weights, chosen per fold like the LM weight")
    ap.add_argument("--nested", type=float, default=MODES["fast"]["nested"],
                    help="drop boxes nested this much in a higher-scoring one (0: keep them)")
    ap.add_argument("--memory-weight", type=float, default=MODES["fast"]["memory_weight"],
                    help="the glyph memory's vote (0: no memory); each fold remembers its 3 training pages and "
                         "the --memory-source page folders")
    ap.add_argument("--memory-without-dev", action="store_true",
                    help="each fold's memory holds only the --memory-source folders (another book's glyphs)")
    ap.add_argument("--memory-source", action="append", default=[],
                    help="page folder every fold's memory holds ({fold}: the held-out page's id)")
    ap.add_argument("--cache", default="runs/accuracy_onnx")
    ap.add_argument("--fast-config", default="single+A", help="the configuration the fast mode ships")
    ap.add_argument("--accurate-config", default="tta+A", help="the configuration the accurate mode ships")
    ap.add_argument("--fast-filter", action="store_true", help="the fast mode ships the FP filter")
    ap.add_argument("--accurate-filter", action="store_true", help="the accurate mode ships the FP filter")
    ap.add_argument("--save-filter", help="write the filter of --accurate-config trained on all four folds here")
    ap.add_argument("--save-fast-filter", help="write the filter of --fast-config trained on all four folds here")
    ap.add_argument("--ablate", help="comma list of filter features the filters never see (measures what they add)")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    priors = [float(x) for x in a.priors.split(",")]
    recs = load_pages(SHARED / "kuzushiji_pages_100241706")
    truth = {r.image_id: r.boxes for r in recs}
    dev = {r.image_id: r.image_path for r in recs}
    cls_dirs = dict(x.split("=", 1) for x in a.cls_loo)
    names = list(cls_dirs)
    sides, ref = genji_block()
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)
    folds: dict[str, Fold] = {}
    for k in dev:
        dets = []
        for i, folder in enumerate(x for x in (a.det_loo, a.det_loo2) if x):
            dets.append(cache / f"det{i + 1}_{k}.onnx")
            if not dets[-1].is_file():
                export_detector(Path(folder) / f"det_{k}/last.pt", dets[-1])
        cl = {}
        for n, folder in cls_dirs.items():
            cl[n] = cache / f"cls_{n}_{k}.onnx"
            if not cl[n].is_file() or not OnnxClassifier(cl[n]).has_features:  # the memory needs features
                export_classifier(Path(folder) / f"cls_{k}/last.pt", cl[n])
        folds[k] = Fold(dets, cl, a.lm, a.nested)
    memory_recs = {k: [r for folder in a.memory_source for r in load_pages(folder.format(fold=k))] for k in dev}
    configs = []
    for c in a.configs.split(","):
        c, _, pads = c.partition("@")
        ds, *ms = c.split("+")
        if ds in DET and DET[ds][0] <= len(dets) and ms and all(m in names for m in ms):
            configs.append((ds, ms, tuple(map(float, pads.split("/"))) if pads else MODES["fast"]["crop_pads"]))

    def f1_pages(fold: Fold, ids, ds, ms, t, w, pw) -> Counts:
        c = Counts()
        for i in ids:
            c += match_page(truth[i], fold.page(dev[i], ds, ms, t, w, pw)[0].points())[0]
        return c

    results = {}
    filter_data = {}
    for ds, ms, pads in configs:
        name = f"{ds}+{'+'.join(ms)}" + ("" if pads == MODES["fast"]["crop_pads"] else "@" + "/".join(map(str, pads)))
        for k, fold in folds.items():
            fold.rec.crop_pads = pads
            fold.rec.memory_weight = a.memory_weight
            if a.memory_weight:
                own = [] if a.memory_without_dev else [r for r in recs if r.image_id != k]
                fold.remember(ms[0], own + memory_recs[k], a.memory_source)
        comp, detc, comp_f, det_f, hits, n_crops, cers, cers_f = Counts(), Counts(), Counts(), Counts(), 0, 0, [], []
        chosen, feats = {}, {}
        for k, fold in folds.items():
            train = [i for i in dev if i != k]
            t, w, pw = max(product(THRESHOLDS, WEIGHTS, priors), key=lambda x: f1_pages(fold, train, ds, ms, *x).f1)
            chosen[k] = (t, w, pw)
            page = fold.page(dev[k], ds, ms, t, w, pw)[0]
            comp += match_page(truth[k], page.points())[0]
            detc += match_page(truth[k], page.points(), class_agnostic=True)[0]
            # filter data: the held-out page read at the lowest threshold, features in reading order
            page0, d0, p0, ev0 = fold.page(dev[k], ds, ms, min(THRESHOLDS), w, pw)
            feats[k] = (fold.rec.features(d0, p0, page0.width, page0.height, ev0),
                        match_page(truth[k], page0.points())[2])
            # classifier top-1 on the truth boxes of the held-out page
            _, gray = read_page(dev[k])
            boxes = np.array([[b.x, b.y, b.w, b.h] for b in truth[k]], np.float32)
            pr = fold.adjusted(*fold.classify(gray, boxes), ms)[0]
            codes = fold.rec.classifier.codes
            hits += sum(codes[j] == b.code for j, b in zip(pr.argmax(1), truth[k]))
            n_crops += len(boxes)
            hyp = reading("".join(fold.page(s, ds, ms, t, w, pw)[0].text.replace("\n", "") for s in sides))
            cers.append(edit_distance(hyp, ref) / len(ref))
        # false-positive filter, leave-one-page-out at the level of the filter too
        for k, fold in folds.items():
            filt = fit_filter(feats, [j for j in dev if j != k], truth,
                              ablate=Ablated(a.ablate.split(",")) if a.ablate else None)
            t, w, pw = chosen[k]
            kept = fold.page(dev[k], ds, ms, min(THRESHOLDS), w, pw, keep=filt)[0].points()
            comp_f += match_page(truth[k], kept)[0]
            det_f += match_page(truth[k], kept, class_agnostic=True)[0]
            hyp = reading("".join(fold.page(s, ds, ms, min(THRESHOLDS), w, pw, keep=filt)[0].text.replace("\n", "")
                                  for s in sides))
            cers_f.append(edit_distance(hyp, ref) / len(ref))
        filter_data[name] = feats
        # speed: the real recognizer with this configuration, fold-1 models, on the 4 dev pages
        k1 = next(iter(folds))
        paths = [Path(a.cache) / f"cls_{n}_{k1}.onnx" for n in ms]
        n_det, scales, shifts = DET[ds]
        rec = Recognizer([Path(a.cache) / f"det{i + 1}_{k1}.onnx" for i in range(n_det)], paths, threads=2,
                         det_scales=scales, det_shifts=shifts, crop_pads=pads, lm=a.lm,
                         memory_weight=a.memory_weight, nested=a.nested)
        rec.memory = folds[k1].memories.get(ms[0])
        rec.recognize(dev[k1])
        t0 = time.perf_counter()
        for p in dev.values():
            rec.recognize(p)
        sec = (time.perf_counter() - t0) / len(dev)
        row = {"f1": round(comp.f1, 4), "precision": round(comp.precision, 4), "recall": round(comp.recall, 4),
               "det_f1": round(detc.f1, 4), "top1": round(hits / n_crops, 4), "cer": round(float(np.mean(cers)), 4),
               "seconds_per_page": round(sec, 3),
               "with_filter": {"f1": round(comp_f.f1, 4), "precision": round(comp_f.precision, 4),
                               "recall": round(comp_f.recall, 4), "det_f1": round(det_f.f1, 4),
                               "cer": round(float(np.mean(cers_f)), 4)},
               "chosen": {k: list(v) for k, v in chosen.items()}}
        results[name] = row
        print(name, json.dumps(row), flush=True)
        atomic_write_text(a.output, json.dumps({"configs": results, "cer_reference_chars": len(ref)}, indent=1))
    modes = {}
    for mode, cfg, filt in (("fast", a.fast_config, a.fast_filter), ("accurate", a.accurate_config, a.accurate_filter)):
        if cfg in results:
            r = results[cfg]["with_filter"] if filt else results[cfg]
            modes[mode] = {"config": cfg + (" + FP filter" if filt else ""), "f1": r["f1"], "cer": r["cer"]}
    atomic_write_text(a.output, json.dumps({"configs": results, "modes": modes, "cer_reference_chars": len(ref),
                                          "classifiers": cls_dirs, "detectors": [a.det_loo, a.det_loo2]}, indent=1))
    print("\n| configuration | comp. F1 (P / R) | + FP filter F1 (P / R) | det. F1 | cls top-1 | Genji CER | + filter | s/page |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        f = r["with_filter"]
        print(f"| {name} | {r['f1']:.3f} ({r['precision']:.3f} / {r['recall']:.3f}) | {f['f1']:.3f} ({f['precision']:.3f}"
              f" / {f['recall']:.3f}) | {r['det_f1']:.3f} | {r['top1']:.3f} | {r['cer']:.3f} | {f['cer']:.3f} | "
              f"{r['seconds_per_page']:.2f} |")
    for cfg, path in ((a.accurate_config, a.save_filter), (a.fast_config, a.save_fast_filter)):
        if path and not a.ablate:
            filt = fit_filter(filter_data[cfg], list(dev), truth, det_threshold=min(THRESHOLDS))
            filt.save(path)
            print(f"filter for {cfg} (threshold {filt.threshold}) -> {path}")


if __name__ == "__main__":
    main()
