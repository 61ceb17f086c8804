"""End-to-end recognition benchmark (a benchmark, not a test): prints a table.

- seconds per page (median over the real pages given, ~2,400 x 3,800 px), split into stages;
- JPEG decode time alone for the same pages (the floor);
- peak RSS of this process;
- competition F1 on the real dev pages;
for each mode (``--modes fast,accurate``), with the leave-one-page-out F1 that bench/accuracy.py measured for it.

Note: the bundled models were fine-tuned on all 4 dev pages, so their F1 here is NOT a held-out
number; the leave-one-page-out numbers come from scripts/loo.py (see README).

usage: python bench/recognize.py [PAGES_DIR ...] [--truth TRAIN_CSV] [--threads N]
"""
from __future__ import annotations

import argparse
import json
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


def run(rec: Recognizer, files: list[Path], repeat: int) -> tuple[dict, dict]:
    """Seconds per page (total and per stage) and the pages of the last run."""
    rec.recognize(read_page(files[0])[1], "warmup")
    total, stages, pages = [], {}, {}
    for _ in range(repeat):
        for f in files:
            t = time.perf_counter()
            page = rec.recognize(f)
            total.append(time.perf_counter() - t)
            for k, v in page.timings.items():
                stages.setdefault(k, []).append(v)
            pages[page.image_id] = page
    return {"seconds / page (median)": statistics.median(total),
            **{f"  {k} (median)": statistics.median(v) for k, v in stages.items()}}, pages


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("inputs", nargs="*", default=[str(SHARED / "kuzushiji_pages_100241706/images"),
                                                 str(SHARED / "codh_pages_unlabeled/images/20001[79]*.jpg"),
                                                 str(SHARED / "codh_pages_unlabeled/images/20002*.jpg")])
    p.add_argument("--truth", default=str(SHARED / "kuzushiji_pages_100241706/train.csv"))
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--detector")
    p.add_argument("--classifier")
    p.add_argument("--modes", default="fast,accurate")
    p.add_argument("--loo", default=str(Path(__file__).parent / "results/accuracy.json"),
                   help="bench/accuracy.py's results: the leave-one-page-out F1 of each mode")
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    files = list_images(a.inputs)
    modes = a.modes.split(",")
    decode = []
    for f in files:
        t = time.perf_counter()
        cv2.imread(str(f), cv2.IMREAD_COLOR)
        decode.append(time.perf_counter() - t)
    truth = read_truth(a.truth)
    rows: dict[str, dict[str, str]] = {}
    for mode in modes:
        rec = Recognizer(a.detector, a.classifier, threads=a.threads, mode=mode)
        times, pages = run(rec, files, a.repeat)
        preds = {k: v.points() for k, v in pages.items() if k in truth}
        r, rd = score(truth, preds), score(truth, preds, class_agnostic=True)
        col = {k: f"{v:.3f}" for k, v in times.items()}
        col["peak RSS so far (MB)"] = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
        col["characters / page (mean)"] = f"{statistics.mean(len(p.chars) for p in pages.values()):.1f}"
        col["competition F1 (dev, in-sample)"] = f"{r.f1:.4f}"
        col["  precision / recall"] = f"{r.total.precision:.3f} / {r.total.recall:.3f}"
        col["detection F1 (dev, in-sample)"] = f"{rd.f1:.4f}"
        rows[mode] = col
    loo = json.loads(Path(a.loo).read_text()) if Path(a.loo).is_file() else None
    if loo:
        for mode in modes:
            m = loo.get("modes", {}).get(mode)
            rows[mode]["competition F1, leave-one-page-out"] = f"{m['f1']:.4f}" if m else "-"
            rows[mode]["  its configuration"] = m["config"] if m else "-"
    sizes = sorted({f"{pg.width}x{pg.height}" for pg in pages.values()})
    print(f"{len(files)} pages x {a.repeat} runs; sizes {', '.join(sizes[:4])}{' ...' if len(sizes) > 4 else ''}; "
          f"JPEG decode alone {statistics.median(decode):.3f} s (median)")
    print(f"{'measure':<38}" + "".join(f"{m:>26}" for m in modes))
    for k in rows[modes[0]]:
        print(f"{k:<38}" + "".join(f"{rows[m].get(k, '-'):>26}" for m in modes))
    print("In-sample: the bundled models were fine-tuned on these 4 dev pages. Leave-one-page-out: bench/accuracy.py.")


if __name__ == "__main__":
    main()
