"""Multi-scale detector test-time augmentation with weighted box fusion, leave-one-page-out.

    python bench/det_tta.py [--det-loo runs/det_loo]

Each fold's detector (scripts/loo.py detector: trained without the held-out page) runs on every dev page
at each set of scales; the threshold is chosen on the fold's 3 training pages; class-agnostic detection
counts (competition matching, box centres as points) are summed over the 4 held-out pages.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kuzushiji.datasets.pages import load_pages
from kuzushiji.train.onnx_export import export_detector
from kuzushiji.inference.detector import OnnxDetector
from kuzushiji.io.image import load_image
from kuzushiji.metrics import Counts, match_page
from kuzushiji.structures import CharPoint

VARIANTS = {"1.0 (default)": (1.0,), "0.9 / 1.0 / 1.1": (0.9, 1.0, 1.1), "0.8 / 1.0 / 1.25": (0.8, 1.0, 1.25)}
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5)


def counts(det: OnnxDetector, page, gray, scales, t) -> Counts:
    boxes = det(gray, 0.15, scales) if len(scales) > 1 else det(gray, 0.15)
    pts = [CharPoint("", x + w / 2, y + h / 2) for x, y, w, h, s in boxes if s >= t]
    return match_page([b.__class__("", b.x, b.y, b.w, b.h) for b in page.boxes], pts, class_agnostic=True)[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--det-loo", default="runs/det_loo")
    ap.add_argument("--real", default=str(Path(__file__).resolve().parents[2] / "shared/data/kuzushiji_pages_100241706"))
    a = ap.parse_args()
    recs = load_pages(a.real)
    grays = {r.image_id: load_image(r.image_path, "L") for r in recs}
    tmp = Path(tempfile.mkdtemp())
    print(f"{'scales':<18} {'P':>6} {'R':>6} {'F1':>6} {'s/page':>7}")
    for name, scales in VARIANTS.items():
        total, secs = Counts(), []
        for held in recs:
            det = OnnxDetector(export_detector(Path(a.det_loo) / f"det_{held.image_id}/last.pt", tmp / f"{held.image_id}.onnx"))
            train = [r for r in recs if r is not held]

            def fold_f1(t: float) -> float:
                c = Counts()
                for r in train:
                    c += counts(det, r, grays[r.image_id], scales, t)
                return c.f1

            t = max(THRESHOLDS, key=fold_f1)
            t0 = time.perf_counter()
            total += counts(det, held, grays[held.image_id], scales, t)
            secs.append(time.perf_counter() - t0)
        print(f"{name:<18} {total.precision:>6.3f} {total.recall:>6.3f} {total.f1:>6.3f} {sum(secs) / len(secs):>7.3f}", flush=True)


if __name__ == "__main__":
    main()
