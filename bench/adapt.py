"""What `kuzushiji adapt` gains on a book from its other pages, no labels used (leave-one-book-out for the memory:
the memory adapting starts from holds no glyph of the book measured).

- Genji manuscript 200010454: start from a memory of the dev book only (its 4 labelled pages), adapt on the 55
  training sides (their text unused), read the held-out block of 8 sides: text CER. The bundled memory (the same
  sides labelled through their text by `align`) is the supervised reference.
- dev book 100241706, leave-one-page-out: no memory, or adapted on the other 3 pages; competition F1 of each page.
- 200021869 (2 hiragana-boxed pages), leave-one-page-out: the bundled memory (it holds no glyph of this book),
  or it adapted on the other page; hiragana recognition recall.

    python bench/adapt.py [--mode fast] [--rounds 2] [--min-prob 0.5]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crossbook import SHARED, books  # noqa: E402

from kuzushiji import Recognizer  # noqa: E402
from kuzushiji.adapt import adapt  # noqa: E402
from kuzushiji.cer import edit_distance, reading  # noqa: E402
from kuzushiji.datasets.pages import load_pages  # noqa: E402
from kuzushiji.io.image import read_page  # noqa: E402
from kuzushiji.memory import GlyphMemory  # noqa: E402
from kuzushiji.metrics import match_page  # noqa: E402


def pages_of(paths: list[Path]) -> list:
    return [(p.stem, lambda p=p: read_page(p)[1]) for p in paths]


def scores(rec: Recognizer, book: dict, ids: list[str]) -> tuple[int, int, int]:
    """(true positives, truth boxes, predictions) over ``ids``."""
    tp = n = m = 0
    for k in ids:
        pts = rec.recognize(book["pages"][k]).points()
        tp, n, m = tp + match_page(book["boxes"][k], pts)[0].tp, n + len(book["boxes"][k]), m + len(pts)
    return tp, n, m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(SHARED))
    ap.add_argument("--mode", default="fast")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--min-prob", type=float, default=0.5)
    a = ap.parse_args()
    S = Path(a.shared)
    dev, hira, genji = books(S).values()
    quiet = lambda m: print("   ", m, file=sys.stderr)  # noqa: E731
    rec = Recognizer(mode=a.mode)
    bundled = rec.memory
    print("| book (held out) | memory read with | measure | value |\n|---|---|---|---|")

    dev_only = GlyphMemory.from_pages(rec.classifier, load_pages(S / "kuzushiji_pages_100241706"),
                                      ["dev book"]).with_head()
    sides = sorted((S / "codh_pages_unlabeled/images").glob("200010454_*.jpg"))[:-8]
    for name, mem in (("dev book only", dev_only), ("bundled (Genji labelled through its text)", bundled),
                      ("dev book only + adapted on the 55 training sides", None)):
        if mem is None:
            mem = adapt(rec, pages_of(sides), a.rounds, a.min_prob, dev_only, say=quiet)
        rec.memory = mem
        hyp = reading("".join(rec.recognize(p).text.replace("\n", "") for p in genji["pages"].values()))
        ref = genji["reference"]
        print(f"| Genji 200010454, held-out block | {name} | CER | {edit_distance(hyp, ref) / len(ref):.3f} |",
              flush=True)

    ids = list(dev["pages"])
    for name in ("none", "adapted on the other 3 pages"):
        tp = n = m = 0
        for k in ids:
            rec.memory = None if name == "none" else adapt(
                rec, pages_of([dev["pages"][j] for j in ids if j != k]), a.rounds, a.min_prob, None, say=quiet)
            t, nn, mm = scores(rec, dev, [k])
            tp, n, m = tp + t, n + nn, m + mm
        print(f"| dev 100241706, leave-one-page-out | {name} | competition F1 | {2 * tp / (n + m):.3f} |", flush=True)

    ids = list(hira["pages"])
    for name in ("bundled", "bundled + adapted on the other page"):
        tp = n = 0
        for k in ids:
            rec.memory = bundled if name == "bundled" else adapt(
                rec, pages_of([hira["pages"][j] for j in ids if j != k]), a.rounds, a.min_prob, bundled, say=quiet)
            t, nn, _ = scores(rec, hira, [k])
            tp, n = tp + t, n + nn
        print(f"| 200021869, leave-one-page-out | {name} | hiragana recognition recall | {tp / n:.3f} |", flush=True)


if __name__ == "__main__":
    main()
