"""Books the models never saw: the false-positive filter never drops more than its cap of a page's boxes (so true
boxes of another hand survive it), and `adapt` builds a book memory from the book's own unlabelled pages."""
from __future__ import annotations

import csv

import numpy as np

from kuzushiji.cli import main
from kuzushiji.fp_filter import FEATURES, train_filter


def test_the_filter_drops_at_most_its_cap():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    f = train_filter(x, y, rounds=20, threshold=0.5, seeds=1)
    test = rng.normal(size=(200, len(FEATURES))).astype(np.float32)
    test[:, 0] = -3  # a page unlike the training pages: the filter would drop nearly everything
    p = f.predict(test)
    assert (p < 0.5).mean() > 0.9
    keep = f.keep(test, max_drop=0.05)
    assert (~keep).sum() == 10 and p[~keep].max() <= p[keep].min()  # the 5 % least likely, no more
    assert (f.keep(test) == (p >= 0.5)).all()  # uncapped as before
    test[:, 0] = 3  # a page like its own: the cap does not bind
    assert f.keep(test, max_drop=0.05).all() == (f.predict(test) >= 0.5).all()


def _hiragana(shared):
    root = shared / "codh_pages_hiragana_boxes_alcon2017"
    truth = {}
    for r in csv.DictReader(open(root / "hiragana_boxes.csv", encoding="utf-8")):
        truth.setdefault(r["Image"], []).append(r)
    return root, truth


def test_true_boxes_of_another_book_survive_the_filter(shared):
    from kuzushiji import Recognizer
    from kuzushiji.metrics import match_page
    from kuzushiji.structures import CharBox

    root, truth = _hiragana(shared)
    found = {}
    for cap in (0.0, None):  # 0: nothing dropped; None: the fast mode's cap
        rec = Recognizer(filter_max_drop=cap)
        tp = n = 0
        for image_id, rows in truth.items():
            boxes = [CharBox(r["Unicode"], *(float(r[k]) for k in ("X", "Y", "Width", "Height"))) for r in rows]
            tp += match_page(boxes, rec.recognize(root / "images" / f"{image_id}.jpg").points(), class_agnostic=True)[0].tp
            n += len(boxes)
        found[cap] = tp / n
    assert found[None] >= 0.97 * found[0.0]


def test_adapt_builds_a_book_memory_from_unlabelled_pages(shared, tmp_path, capsys):
    from kuzushiji.memory import GlyphMemory
    from kuzushiji.predictor import asset_path

    root, _ = _hiragana(shared)
    pages = sorted(str(p) for p in (root / "images").glob("*.jpg"))
    out = tmp_path / "book.npz"
    assert main(["adapt", *pages, "-o", str(out), "--rounds", "1"]) == 0
    err = capsys.readouterr().err
    assert "round 1: 2 page(s)" in err and "readings agreed on" in err
    mem, base = GlyphMemory.load(out), GlyphMemory.load(asset_path("memory.npz"))
    assert len(mem) > len(base) and mem.head is not None and "adapted: 2 page(s), round 1" in mem.sources[-1]
    assert main(["adapt", *pages, "-o", str(out)]) == 2  # never overwritten
    assert main(["recognize", pages[0], "-o", str(tmp_path / "o"), "--memory", str(out), "--quiet"]) == 0
