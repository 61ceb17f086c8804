"""The column reader: column strips with their text from labelled pages and from an alignment, CTC training,
export, decoding (with the language model), and reading a page by columns or both ways."""
from __future__ import annotations

import json

import numpy as np
import pytest

from kuzushiji.inference.column_reader import decode, log_softmax

torch = pytest.importorskip("torch")

from kuzushiji.cli import main  # noqa: E402


def _logits(path: list[int], classes: int = 6) -> np.ndarray:
    """Log-probabilities whose best path is ``path`` (0 = blank, k = class k - 1)."""
    z = np.full((len(path), classes + 1), -6.0, np.float32)
    z[np.arange(len(path)), path] = 6.0
    return log_softmax(z)


def test_ctc_decoding_merges_repeats_and_keeps_where_each_character_was_read():
    got = decode(_logits([0, 3, 3, 0, 3, 0, 0, 5, 5, 0]))
    assert [c.cls for c in got] == [2, 2, 4] and [c.step for c in got] == [1, 4, 7]
    assert all(0.99 < c.prob <= 1.0 for c in got)
    assert decode(_logits([0, 0, 0])) == []


def test_the_language_model_settles_an_uncertain_step():
    from kuzushiji.language_model import NgramLM

    lm = NgramLM.fit(["U+3042", "U+3044", "U+3046"], ["あいあいあいあい", "あいあい"], order=2)
    z = np.full((3, 4), -8.0, np.float32)
    z[0, 1] = 5.0  # あ
    z[1, [2, 3]] = [1.0, 1.2]  # い or う, the reader slightly prefers う
    z[2, 0] = 5.0
    logp = log_softmax(z)
    assert [c.cls for c in decode(logp)] == [0, 2]
    assert [c.cls for c in decode(logp, lm, np.arange(3), lm_weight=1.0)] == [0, 1]  # あ is followed by い


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory):
    from conftest import SHARED as shared
    from kuzushiji.synth.page import PageConfig
    from kuzushiji.synth.writer import generate_pages

    if not shared.is_dir():
        pytest.skip("../shared/data not present")
    d = tmp_path_factory.mktemp("columns")
    try:
        generate_pages(d / "pages", 6, seed=5, workers=1, shared=shared, cfg=PageConfig(height=500))
    except RuntimeError:
        pytest.skip("synthesis fonts not installed")
    assert main(["prepare-columns", "--pages", str(d / "pages"), "-o", str(d / "cols.npz")]) == 0
    assert main(["train", "columns", "--source", str(d / "cols.npz"), "--val", str(d / "cols.npz"), "--out",
                 str(d / "run"), "--epochs", "1", "--batch", "4", "--threads", "1"]) == 0
    hist = json.loads((d / "run/history.json").read_text())
    assert hist[0]["cols_cer"] >= 0 and (d / "run/last.pt").is_file()
    assert main(["train", "columns", "--source", str(d / "cols.npz"), "--out", str(d / "run"), "--epochs", "2",
                 "--batch", "4", "--threads", "1", "--resume"]) == 0
    assert [r["epoch"] for r in json.loads((d / "run/history.json").read_text())] == [1, 2]
    assert main(["export", "columns", str(d / "run/last.pt"), "-o", str(d / "columns.onnx")]) == 0
    return d / "columns.onnx"


def test_column_sets_from_pages_and_from_an_alignment(tmp_path, shared):
    from kuzushiji.datasets.columns import STRIP_WIDTH, ColumnSet, from_alignment
    from kuzushiji.inference.classifier import OnnxClassifier
    from kuzushiji.predictor import asset_path

    codes = OnnxClassifier(asset_path("classifier.onnx")).codes
    sides = sorted((shared / "codh_pages_unlabeled/images").glob("200010454_0000[23]_*.jpg"))
    text = "\n".join(r.split(",")[3] for r in (shared / "genji_transcription/genji_text_lines.csv")
                     .read_text(encoding="utf-8").splitlines()[1:] if r.startswith("V01,"))
    (tmp_path / "v01.txt").write_text(text, encoding="utf-8")
    assert main(["align", *map(str, sides), "--text", str(tmp_path / "v01.txt"), "-o", str(tmp_path / "al"),
                 "--quiet"]) == 0
    s = from_alignment(tmp_path / "al", text, sides[0].parent, codes)
    assert len(s) >= 10 and all(x.shape[1] == STRIP_WIDTH for x in s.strips)
    assert 0.5 < np.mean([len(t) for t in s.labels]) / 15 < 2  # about a column's worth of text each
    s.save(tmp_path / "s.npz")
    back = ColumnSet.load(tmp_path / "s.npz")
    assert len(back) == len(s) and all((a == b).all() for a, b in zip(back.labels, s.labels))


def test_read_a_page_by_columns_and_both_ways(tiny_reader, tmp_path):
    from kuzushiji import Recognizer
    from conftest import REPO

    sample = REPO / "samples/100241706_00004_2.jpg"
    chars = Recognizer().recognize(sample)
    for reader in ("columns", "both"):
        page = Recognizer(reader=reader, column_reader=tiny_reader).recognize(sample)
        assert "columns" in page.timings
        if reader == "both":
            assert "classify" in page.timings and len(page.columns) <= len(chars.columns)
        else:  # the column reader alone classifies no box
            assert "classify" not in page.timings
        assert page.text == "\n".join("".join(page.chars[i].char for i in col.chars) for col in page.columns)
        detected = {c.box for c in chars.chars}
        assert all(c.estimated or c.box in detected for c in page.chars)
        if reader == "columns":
            assert all(c.estimated for c in page.chars)
    keep = Recognizer(reader="both", column_reader=tiny_reader)
    assert keep.both_text == "auto"  # the default: the column text where the reader is sure of the page, else boxes
    keep.both_text = "boxes"  # the boxes keep their readings, the reader adds what none covers
    page = keep.recognize(sample)
    assert [(c.box, c.code) for c in page.chars if not c.estimated] == [(c.box, c.code) for c in chars.chars]
    auto = Recognizer(reader="both", column_reader=tiny_reader).recognize(sample)  # a reader unsure of the page
    assert [(c.box, c.code) for c in auto.chars] == [(c.box, c.code) for c in page.chars]  # leaves it to the boxes
    keep.both_text = "best"  # the same boxes; each takes the more probable of its two readings
    best = keep.recognize(sample)
    assert [c.box for c in best.chars if not c.estimated] == [c.box for c in chars.chars]
    out = tmp_path / "out"
    assert main(["recognize", str(sample), "-o", str(out), "--reader", "both", "--column-reader", str(tiny_reader),
                 "--quiet"]) == 0
    d = json.loads((out / f"{sample.stem}.json").read_text(encoding="utf-8"))
    assert all("estimated" in c for c in d["chars"])
    weak = Recognizer(reader="columns", column_reader=tiny_reader, column_weak=0.1).recognize(sample)
    assert len(weak.columns) >= len(Recognizer(reader="columns", column_reader=tiny_reader).recognize(sample).columns)
    with pytest.raises(SystemExit) as e:  # a share: one line, exit 2
        main(["recognize", str(sample), "-o", str(tmp_path / "bad"), "--reader", "columns", "--column-weak", "2"])
    assert e.value.code == 2


def test_columns_grow_over_weak_peaks_and_new_ones_join_the_reading_order():
    from kuzushiji.reading_order import merge_order, segment_columns

    cols = [(100.0, 100.0, 40.0, 200.0), (50.0, 100.0, 40.0, 100.0)]  # x, y, w, h; right to left
    weak = np.array([[102, 320, 36, 30, .2], [104, 360, 30, 30, .2],  # two more characters below column 0
                     [52, 400, 36, 30, .2],  # in line with column 1, but 10 character heights below it
                     [0, 100, 30, 30, .1], [2, 140, 30, 30, .1], [1, 180, 30, 30, .1],  # a column left of both
                     [200, 10, 10, 10, .1]], np.float32)  # a speck on its own
    grown, new = segment_columns(cols, weak, 30.0)
    assert grown == [(100.0, 100.0, 40.0, 290.0), (50.0, 100.0, 40.0, 100.0)]
    assert new == [(0.0, 100.0, 32.0, 110.0)]
    assert merge_order(cols, new) == [0, 1, 2]
    assert merge_order(cols, [(150.0, 0.0, 20.0, 50.0), (75.0, 0.0, 4.0, 5.0)]) == [2, 0, 3, 1]
    assert segment_columns(cols, np.zeros((0, 5), np.float32), 30.0) == (cols, [])


def test_strips_read_in_batches_read_as_one_at_a_time(tiny_reader):
    from kuzushiji.inference.column_reader import OnnxColumnReader

    reader = OnnxColumnReader(tiny_reader)
    rng = np.random.default_rng(0)
    strips = [rng.integers(0, 256, (h, reader.width), dtype=np.uint8) for h in (96, 96, 200, 90)]
    batched = reader.logprobs_batch(strips)
    assert [len(b) for b in batched] == [24, 24, 50, 23]  # each cut to its own steps (stride 4)
    for k in (0, 1, 2):  # alone in a batch, or with strips of its own height: no padding, the same numbers
        np.testing.assert_allclose(batched[k], reader.logprobs(strips[k]), atol=1e-4)


def test_fine_tune_the_column_reader_from_its_onnx(tiny_reader, tmp_path):
    from kuzushiji.models.from_onnx import model_from_onnx
    from kuzushiji.train.columns import epoch_indices

    model, ck = model_from_onnx(tiny_reader)  # checked against onnxruntime inside (max diff 1e-3)
    assert ck["frozen_bn"] and ck["strip_width"] == 40 and ck["model_name"] == "crnn_s"
    cols = tiny_reader.parent / "cols.npz"
    assert main(["train", "columns", "--init", str(tiny_reader), "--source", str(cols), "--repeat", "0.5",
                 "--out", str(tmp_path / "ft"), "--epochs", "1", "--batch", "4", "--threads", "1"]) == 0
    assert (tmp_path / "ft/last.pt").is_file()
    idx = epoch_indices([10, 4], [1.5, 2], np.random.default_rng(0))
    assert len(idx) == 10 + 5 + 8 and len(set(idx[10:15].tolist())) == 5 and set(idx[15:].tolist()) == {10, 11, 12, 13}
