"""Pseudo-labels from unlabelled real pages (the seed projects' third stage).

Runs the recognizer on every page, keeps confident predictions and writes two Kaggle-layout folders:
  OUT/det  boxes with detection score >= --det-threshold (for detector fine-tuning; codes = top-1)
  OUT/cls  boxes whose top-1 probability >= --cls-threshold as well (for classifier fine-tuning)

usage: python scripts/pseudo_label.py --detector D.onnx --classifier C.onnx -o work/pseudo IMAGES...
"""
import argparse
import json
from pathlib import Path

from tqdm import tqdm

from kuzushiji import Recognizer
from kuzushiji.datasets.pages import PageRecord, write_subset
from kuzushiji.errors import DataError
from kuzushiji.io.image import list_images
from kuzushiji.structures import CharBox

p = argparse.ArgumentParser()
p.add_argument("inputs", nargs="+")
p.add_argument("-o", "--output", required=True)
p.add_argument("--detector")
p.add_argument("--classifier")
p.add_argument("--det-threshold", type=float, default=0.5)
p.add_argument("--cls-threshold", type=float, default=0.9)
a = p.parse_args()

rec = Recognizer(a.detector, a.classifier)
det_pages, cls_pages, stats = [], [], {"pages": 0, "det_boxes": 0, "cls_boxes": 0, "all_detections": 0}
for f in tqdm(list_images(a.inputs), desc="pseudo-label"):
    try:
        page = rec.recognize(f)
    except DataError as e:
        print(f"error: {e}")
        continue
    det = [CharBox(c.code, *c.box) for c in page.chars if c.det_score >= a.det_threshold]
    cls = [CharBox(c.code, *c.box) for c in page.chars
           if c.det_score >= a.det_threshold and c.candidates and c.candidates[0].prob >= a.cls_threshold]
    stats["pages"] += 1
    stats["all_detections"] += len(page.chars)
    stats["det_boxes"] += len(det)
    stats["cls_boxes"] += len(cls)
    if det:
        det_pages.append(PageRecord(f.stem, f, det))
    if cls:
        cls_pages.append(PageRecord(f.stem, f, cls))
out = Path(a.output)
write_subset(det_pages, out / "det")
write_subset(cls_pages, out / "cls")
stats |= {"det_threshold": a.det_threshold, "cls_threshold": a.cls_threshold}
(out / "stats.json").write_text(json.dumps(stats, indent=1))
print(json.dumps(stats))
