"""End-to-end recognition benchmark (a benchmark, not a test): prints a table.

- seconds per page (median over the real pages given, ~2,400 x 3,800 px), split into stages;
- JPEG decode time alone for the same pages (the floor);
- peak RSS of this process;
- competition F1 on the real dev pages.

Note: the bundled models were fine-tuned on all 4 dev pages, so their F1 here is NOT a held-out
number; the leave-one-page-out numbers come from scripts/loo.py (see README).

usage: python bench/recognize.py [PAGES_DIR ...] [--truth TRAIN_CSV] [--threads N]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import cv2

from kuzushiji import Recognizer
from kuzushiji.evaluate import read_truth
from kuzushiji.io.image import list_images
from kuzushiji.metrics import score
from kuzushiji.predictor import read_page

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("inputs", nargs="*", default=[str(SHARED / "kuzushiji_pages_100241706/images"),
                                                 str(SHARED / "codh_pages_unlabeled/images/20001[79]*.jpg"),
                                                 str(SHARED / "codh_pages_unlabeled/images/20002*.jpg")])
    p.add_argument("--truth", default=str(SHARED / "kuzushiji_pages_100241706/train.csv"))
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--detector")
    p.add_argument("--classifier")
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    files = list_images(a.inputs)
    rec = Recognizer(a.detector, a.classifier, threads=a.threads)
    rec.recognize(read_page(files[0])[1], "warmup")
    decode, total, stages, pages = [], [], {}, {}
    for _ in range(a.repeat):
        for f in files:
            t = time.perf_counter()
            cv2.imread(str(f), cv2.IMREAD_COLOR)
            decode.append(time.perf_counter() - t)
            t = time.perf_counter()
            page = rec.recognize(f)
            total.append(time.perf_counter() - t)
            for k, v in page.timings.items():
                stages.setdefault(k, []).append(v)
            pages[page.image_id] = page
    truth = read_truth(a.truth)
    preds = {k: v.points() for k, v in pages.items() if k in truth}
    r = score(truth, preds)
    rd = score(truth, preds, class_agnostic=True)
    sizes = sorted({f"{pg.width}x{pg.height}" for pg in pages.values()})
    print(f"{len(files)} pages x {a.repeat} runs; sizes {', '.join(sizes[:4])}{' ...' if len(sizes) > 4 else ''}")
    print(f"{'measure':<34}{'value':>12}")
    print(f"{'seconds / page (median)':<34}{statistics.median(total):>12.3f}")
    for k, v in stages.items():
        print(f"{'  ' + k + ' (median)':<34}{statistics.median(v):>12.3f}")
    print(f"{'JPEG decode alone (median)':<34}{statistics.median(decode):>12.3f}")
    print(f"{'peak RSS (MB)':<34}{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:>12.0f}")
    print(f"{'characters / page (mean)':<34}{statistics.mean(len(p.chars) for p in pages.values()):>12.1f}")
    print(f"{'dev pages scored':<34}{len(preds):>12d}")
    print(f"{'competition F1 (dev pages, in-sample)':<34}{r.f1:>12.4f}")
    print(f"{'  precision / recall':<34}{r.total.precision:>6.3f}{r.total.recall:>6.3f}")
    print(f"{'detection F1, class-agnostic':<34}{rd.f1:>12.4f}")


if __name__ == "__main__":
    main()
