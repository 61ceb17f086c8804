"""The product's main job end to end with the bundled models: outputs, bad input, resume, API."""
import csv
import json

import numpy as np
import pytest
from PIL import Image

from kuzushiji.cli import main
from kuzushiji.predictor import asset_path

pytestmark = pytest.mark.skipif(not asset_path("detector.onnx").is_file(), reason="bundled models not built")


@pytest.fixture
def page_path(dev_pages):
    return dev_pages / "images/100241706_00004_2.jpg"


def test_api_returns_page(page_path):
    from kuzushiji import Recognizer

    page = Recognizer().recognize(page_path)
    assert page.image_id == "100241706_00004_2" and (page.width, page.height) == (2404, 3874)
    assert 20 < len(page.chars) < 400
    c = page.chars[0]
    assert len(c.candidates) == 5 and c.candidates[0].prob >= c.candidates[1].prob
    assert page.text.count("\n") == len(page.columns) - 1
    # reading order: the first column is the rightmost one
    xs = [np.mean([page.chars[i].center[0] for i in col.chars]) for col in page.columns]
    assert xs[0] == max(xs)


def test_recognize_batch_with_bad_file(page_path, tmp_path, capsys):
    bad = tmp_path / "in" / "broken.jpg"
    bad.parent.mkdir()
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    gray16 = tmp_path / "in" / "gray16.png"
    g = np.asarray(Image.open(page_path).convert("L").resize((600, 968)), dtype=np.uint16) * 257
    Image.fromarray(g).save(gray16)
    out = tmp_path / "out"
    rc = main(["recognize", str(page_path), str(bad), str(gray16), "-o", str(out), "--overlay", "--quiet"])
    assert rc == 1  # one page failed, the others were written
    err = capsys.readouterr().err
    assert "broken.jpg" in err and err.strip().count("\n") == 0
    rows = list(csv.DictReader(open(out / "submission.csv", encoding="utf-8")))
    assert {r["image_id"] for r in rows} == {"100241706_00004_2", "gray16"}
    row = next(r for r in rows if r["image_id"] == "100241706_00004_2")
    assert len(row["labels"].split()) % 3 == 0 and row["labels"].startswith("U+")
    d = json.loads((out / "100241706_00004_2.json").read_text(encoding="utf-8"))
    assert d["width"] == 2404 and d["chars"] and len(d["chars"][0]["candidates"]) == 5
    assert (out / "100241706_00004_2.txt").read_text(encoding="utf-8").strip()
    assert Image.open(out / "100241706_00004_2.overlay.jpg").size[1] == 2000
    # resume: the finished page is not recomputed, and the submission keeps it
    mtime = (out / "100241706_00004_2.json").stat().st_mtime_ns
    assert main(["recognize", str(page_path), "-o", str(out), "--resume", "--overlay", "--quiet"]) == 0
    assert (out / "100241706_00004_2.json").stat().st_mtime_ns == mtime
    assert "100241706_00004_2" in (out / "submission.csv").read_text()


def test_recognize_scores_well_above_chance(dev_pages, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["recognize", str(dev_pages / "images"), "-o", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--truth", str(dev_pages / "train.csv"), "--pred", str(out / "submission.csv"),
                 "--class-agnostic", "--summary"]) == 0
    line = [l for l in capsys.readouterr().out.splitlines() if l.startswith("precision")][0]
    assert float(line.split("F1")[1]) > 0.8  # detection on the dev pages


def test_empty_page(tmp_path):
    from kuzushiji import Recognizer

    page = Recognizer().recognize(np.full((1200, 800), 230, np.uint8), "blank")
    assert page.text == "" or len(page.chars) < 5


def test_classify_kmnist_restricted(shared, capsys):
    npz = shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz"
    assert main(["classify", str(npz), "--restrict", "kmnist", "--top-k", "1", "--key", "images"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert len(rows) == 150
    y = np.load(npz)["labels"]
    from kuzushiji.io.arrays import KMNIST_CODES

    acc = np.mean([r["code"] == KMNIST_CODES[y[int(r["index"])]] for r in rows])
    assert acc > 0.2  # far above chance (0.1) for a model that never saw KMNIST


def test_classify_restrict_to_no_known_class_is_one_line(shared, capsys):
    npz = shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz"
    assert main(["classify", str(npz), "--restrict", "U+0041", "--key", "images"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "U+0041" in err[0]


def test_nested_boxes_dropped():
    from kuzushiji.inference.detector import drop_nested
    boxes = np.array([[0, 0, 10, 20, 0.9],     # a character
                      [1, 8, 9, 11, 0.5],      # its lower half found again: dropped
                      [0, 18, 10, 20, 0.8],    # the next one, touching: kept
                      [30, 0, 10, 10, 0.4],    # a character whose whole ...
                      [28, -2, 14, 14, 0.7]],  # ... is found larger with a higher score: the smaller dropped
                     np.float32)
    kept = drop_nested(boxes, 0.6)
    assert sorted(kept[:, 4].tolist()) == pytest.approx([0.7, 0.8, 0.9])
    assert len(drop_nested(boxes[:1], 0.6)) == 1 and len(drop_nested(boxes[:0], 0.6)) == 0


def test_recognizer_nested_setting(page_path):
    """The modes drop nested boxes by default; ``nested=0`` keeps every box the detector finds."""
    from kuzushiji.predictor import NESTED, Recognizer
    from kuzushiji.io.image import read_page

    _, gray = read_page(page_path)
    keep_all, default = Recognizer(nested=0), Recognizer()
    assert default.nested == NESTED > 0 and keep_all.nested == 0
    assert len(default.detect(gray)) <= len(keep_all.detect(gray))


def test_overlays_draw_the_iteration_marks():
    """〱 and 〲 (frequent in these books) come from a face that has them, not as a missing-glyph box."""
    from kuzushiji.visualize import _faces, _font_for, _has_glyph

    if not any(_has_glyph(f, "〱") for f in _faces(40)):
        pytest.skip("no installed overlay face draws 〱 (make setup installs fonts-hanazono)")
    for ch in "〱〲あ源":
        assert _has_glyph(_font_for(ch, 40), ch)
