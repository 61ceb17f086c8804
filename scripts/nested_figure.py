"""docs/nested_boxes.png: a held-out manuscript side as the bundled detector finds it, the boxes that
``drop_nested`` removes (one character found twice, whole and in part) in red, the rest in green.

usage: python scripts/nested_figure.py [SIDE_JPG] [-o docs/nested_boxes.png]
"""
import argparse
from pathlib import Path

import cv2
import numpy as np

from kuzushiji.inference.detector import drop_nested
from kuzushiji.io.atomic import atomic_write_bytes
from kuzushiji.io.image import read_page
from kuzushiji.predictor import NESTED, Recognizer

p = argparse.ArgumentParser()
p.add_argument("side", nargs="?", default=str(Path(__file__).resolve().parents[2]
                                              / "shared/data/codh_pages_unlabeled/images/200010454_00031_1.jpg"))
p.add_argument("-o", "--out", default="docs/nested_boxes.png")
a = p.parse_args()

rgb, gray = read_page(a.side)
boxes = Recognizer(nested=0).detect(gray)  # everything the detector keeps above its threshold
kept = {tuple(b) for b in drop_nested(boxes, NESTED).tolist()}
img = np.ascontiguousarray(rgb[:, :, ::-1])
for b in boxes.tolist():
    x, y, w, h = (int(round(v)) for v in b[:4])
    dropped = tuple(b) not in kept
    cv2.rectangle(img, (x, y), (x + w, y + h), (0, 0, 230) if dropped else (0, 170, 0), 6 if dropped else 3)
scale = 900 / img.shape[0]
small = cv2.resize(img, (int(img.shape[1] * scale), 900), interpolation=cv2.INTER_AREA)
ok, png = cv2.imencode(".png", small)
atomic_write_bytes(Path(a.out), png.tobytes())
print(f"{len(boxes)} boxes, {len(boxes) - len(kept)} nested ones dropped (red) -> {a.out}")
