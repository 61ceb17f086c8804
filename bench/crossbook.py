"""Cross-book check on a book never used for training or pseudo-labels (CODH 200021869, two pages
with hiragana-only boxes): detection recall and recognition recall of the hiragana.
Precision cannot be computed (kanji are not annotated there).

usage: python bench/crossbook.py [--detector D.onnx --classifier C.onnx --lm LM.npz] ...
       python bench/crossbook.py --mode fast --mode accurate --head-weight 0 --head-weight 0.2   # bundled models
"""
import argparse
import csv
from pathlib import Path

from kuzushiji import Recognizer
from kuzushiji.metrics import match_page
from kuzushiji.structures import CharBox

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
p = argparse.ArgumentParser()
p.add_argument("--data", default=str(SHARED / "codh_pages_hiragana_boxes_alcon2017"))
p.add_argument("--detector", action="append")
p.add_argument("--classifier", action="append")
p.add_argument("--lm")
p.add_argument("--mode", action="append", help="fast / accurate (default: fast)")
p.add_argument("--head-weight", action="append", type=float, help="the memory's hand head's share (default: the mode's)")
a = p.parse_args()
root = Path(a.data)
truth: dict[str, list[CharBox]] = {}
with open(root / "hiragana_boxes.csv", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        truth.setdefault(r["Image"], []).append(CharBox(r["Unicode"], float(r["X"]), float(r["Y"]),
                                                          float(r["Width"]), float(r["Height"])))
dets = a.detector or [None]
clss = a.classifier or [None] * len(dets)
print(f"{'detector':<28}{'classifier':<28}{'mode':<10}{'head':>5}{'boxes':>6}{'det recall':>11}{'rec recall':>11}")
for d, c, mode, share in ((d, c, m, h) for d, c in zip(dets, clss) for m in a.mode or ["fast"]
                          for h in a.head_weight or [None]):
    rec = Recognizer(d, c, lm=a.lm, mode=mode, head_weight=share)
    n = hd = hc = 0
    for image_id, boxes in truth.items():
        pts = rec.recognize(root / "images" / f"{image_id}.jpg").points()
        # a box is found when a prediction lies inside it; recognized when one with its label does
        hd += match_page(boxes, pts, class_agnostic=True)[0].tp
        hc += match_page(boxes, pts)[0].tp
        n += len(boxes)
    print(f"{Path(d or 'bundled').name:<28}{Path(c or 'bundled').name:<28}{mode:<10}{rec.head_weight:>5g}{n:>6}"
          f"{hd / n:>11.3f}{hc / n:>11.3f}", flush=True)
