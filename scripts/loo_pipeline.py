"""Leave-one-page-out competition F1 of the whole pipeline on the real dev pages.

For each held-out page, the fold's detector and classifier (from scripts/loo.py, trained without that
page) are exported to ONNX; the detection threshold and the language-model weight are chosen on the
fold's three training pages; then the held-out page is recognized and scored. Counts are summed over
the four folds. Also reports the synthetic-only models under the same protocol.

usage: python scripts/loo_pipeline.py --det-loo runs/det_loo --cls-loo runs/cls_loo --det-synth runs/det_synth/last.pt
                                      --cls-synth runs/cls_synth/last.pt --lm src/kuzushiji/assets/lm.npz -o runs/pipeline_loo.json
"""
import argparse
import json
import tempfile
from pathlib import Path

from kuzushiji import Recognizer
from kuzushiji.datasets.pages import load_pages
from kuzushiji.train.onnx_export import export_classifier, export_detector
from kuzushiji.metrics import Counts, score

THRESHOLDS = (0.3, 0.4, 0.5)
WEIGHTS = (0.0, 0.25, 0.5, 1.0)

p = argparse.ArgumentParser()
p.add_argument("--real", default="../shared/data/kuzushiji_pages_100241706")
p.add_argument("--det-loo", help="detector LOO runs (scripts/loo.py detector)")
p.add_argument("--det-fixed", help="use this detector ONNX in every fold instead (classifier-only comparisons; "
                                   "a detector trained on the dev pages makes detection in-sample)")
p.add_argument("--cls-loo", required=True)
p.add_argument("--det-synth")
p.add_argument("--cls-synth", required=True)
p.add_argument("--lm", required=True)
p.add_argument("-o", "--output", required=True)
p.add_argument("--det-scales", default="1.0", help="detector scales, e.g. 0.9,1.0,1.1 (multi-scale TTA)")
a = p.parse_args()
recs = load_pages(a.real)
truth = {r.image_id: r.boxes for r in recs}
tmp = Path(tempfile.mkdtemp())


def run(det_onnx, cls_onnx, pages, t, w, tta=False):
    rec = Recognizer(det_onnx, cls_onnx, det_threshold=t, lm=a.lm, lm_weight=w, tta=tta,
                     det_scales=tuple(float(v) for v in a.det_scales.split(",")))
    return {r.image_id: rec.recognize(r.image_path).points() for r in pages}


def choose(det_onnx, cls_onnx, train):
    best = None
    for t in THRESHOLDS:
        for w in WEIGHTS:
            f1 = score({r.image_id: truth[r.image_id] for r in train}, run(det_onnx, cls_onnx, train, t, w)).f1
            if best is None or f1 > best[0]:
                best = (f1, t, w)
    return best[1], best[2]


out = {"folds": {}, "total": {}}
for variant in ("synthetic_only", "finetuned"):
    total, total_nolm, total_tta = Counts(), Counts(), Counts()
    for held in recs:
        train = [r for r in recs if r is not held]
        if variant == "finetuned":
            d = a.det_fixed or export_detector(Path(a.det_loo) / f"det_{held.image_id}/last.pt", tmp / f"d_{held.image_id}.onnx")
            c = export_classifier(Path(a.cls_loo) / f"cls_{held.image_id}/last.pt", tmp / f"c_{held.image_id}.onnx")
        else:
            d = a.det_fixed or export_detector(a.det_synth, tmp / "d_synth.onnx")
            c = export_classifier(a.cls_synth, tmp / "c_synth.onnx")
        t, w = choose(d, c, train)
        r = score({held.image_id: truth[held.image_id]}, run(d, c, [held], t, w)).total
        r0 = score({held.image_id: truth[held.image_id]}, run(d, c, [held], t, 0.0)).total
        rt = score({held.image_id: truth[held.image_id]}, run(d, c, [held], t, w, tta=True)).total
        total += r
        total_nolm += r0
        total_tta += rt
        out["folds"].setdefault(held.image_id, {})[variant] = {"threshold": t, "lm_weight": w, "tp": r.tp, "fp": r.fp,
                                                                "fn": r.fn, "f1": round(r.f1, 4), "f1_without_lm": round(r0.f1, 4),
                                                                "f1_with_tta": round(rt.f1, 4)}
        print(variant, held.image_id, out["folds"][held.image_id][variant], flush=True)
    out["total"][variant] = {"precision": round(total.precision, 4), "recall": round(total.recall, 4),
                             "f1": round(total.f1, 4), "f1_without_lm": round(total_nolm.f1, 4),
                             "f1_with_tta": round(total_tta.f1, 4),
                             "tp": total.tp, "fp": total.fp, "fn": total.fn}
Path(a.output).write_text(json.dumps(out, indent=1))
print(json.dumps(out["total"], indent=1))
