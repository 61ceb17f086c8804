"""Alignment of recognized pages with known text: reading equivalences, the DP, and real dev pages."""
import csv

import numpy as np
import pytest

from kuzushiji.align import AlignParams, align_sequence, character_boxes, normalize_text, reading_key
from kuzushiji.cli import main
from kuzushiji.io.kaggle import read_train_csv
from kuzushiji.predictor import asset_path
from kuzushiji.vocab import char_to_code


def test_reading_equivalences_and_transcription_marks():
    assert normalize_text("御かた＋＋＄。めざ\n△△人々＄") == "御かた〲めざ人々"
    assert [reading_key(c) for c in "づガっ\U0001b00b"] == ["つ", "か", "つ", reading_key("\U0001b00b")]
    assert reading_key("\U0001b022") in "かき"  # a hentaigana letter reads as its kana (KA-/KI- row)


def test_reading_weights_count_variants_and_jibo_toward_their_kana():
    """A restricted reading (KMNIST's kana): ぎ, キ and the hentaigana KI-1 read as き; 支 (a 字母 of き) counts half;
    a kanji outside the table counts for nothing, and an unrestricted class keeps its own column."""
    from kuzushiji.vocab import reading_weights

    codes = [char_to_code(c) for c in "きぎキ支山つ"] + ["U+1B023", "rare"]  # U+1B023: HENTAIGANA LETTER KI-1
    w = reading_weights(codes, [char_to_code("き"), char_to_code("つ")], jibo_weight=0.5)
    assert w[:, 0].tolist() == [1, 1, 1, 0.5, 0, 0, 1, 0] and w[:, 1].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    both = reading_weights(codes, [char_to_code("き"), char_to_code("ぎ")])  # restricted classes read as themselves
    assert both[:3].tolist() == [[1, 0], [0, 1], [1, 0]]  # キ reads as the plain き


def test_dp_recovers_from_extra_box_missing_character_and_split():
    text = "abcdefghij"
    boxes = list("abcXdfghhij")  # X extra, e missing, h split in two boxes
    sub = np.array([[0.1 if b == t else 6.0 for t in text] for b in boxes])
    _, ops = align_sequence(sub, AlignParams())
    matches = {(i, j) for op, i, j in ops if op == "match"}
    assert {(0, 0), (1, 1), (4, 3), (5, 5), (9, 8), (10, 9)} <= matches
    assert not any(i == 3 for i, _ in matches)  # the extra box is never labelled
    assert ("skip", 5, 4) in ops  # the missing character is skipped


@pytest.mark.skipif(not asset_path("detector.onnx").is_file(), reason="bundled models not built")
def test_align_dev_pages_precision(dev_pages, shared, tmp_path, capsys):
    out = tmp_path / "al"
    text = shared / "codh_coordinates_text_only/100241706_columns.txt"
    assert main(["align", str(dev_pages / "images"), "--text", str(text), "-o", str(out), "--quiet", "--overlay"]) == 0
    assert len(list(out.glob("*.overlay.jpg"))) == 4
    truth = dict(read_train_csv(dev_pages / "train.csv"))
    labels = dict(read_train_csv(out / "train.csv"))
    accepted = [(k, b) for k, v in labels.items() for b in v]
    ok = sum(any(t.code == b.code and t.contains(b.cx, b.cy) for t in truth[k]) for k, b in accepted)
    assert len(accepted) > 0.6 * 392 and ok / len(accepted) > 0.95
    rows = list(csv.DictReader(open(out / "alignment.csv", encoding="utf-8")))
    assert {r["status"] for r in rows} >= {"accepted"} and len(rows) >= len(accepted)
    assert sorted(p.name for p in (out / "train_images").iterdir()) == sorted(p.name for p in (dev_pages / "images").iterdir())
    # the output is a training source as it stands
    from kuzushiji.datasets.pages import load_pages

    assert sum(len(r.boxes) for r in load_pages(out)) == len(accepted)
    # ... and so is its detector/ folder: every box, split characters joined
    det = load_pages(out / "detector")
    splits = sum(r["status"] == "split" for r in rows)
    assert len(rows) - splits // 2 <= sum(len(r.boxes) for r in det) <= len(rows)


def _row(x, y, w, h, status="matched", text_pos=0, code="", pred="の"):
    return {"x": x, "y": y, "w": w, "h": h, "status": status, "text_pos": str(text_pos), "code": code, "pred": pred}


def test_character_boxes_join_a_character_cut_in_two():
    rows = [_row(100, 100, 40, 40, "accepted", 0, "U+3042"),
            _row(100, 150, 40, 20, "split", 1), _row(104, 172, 36, 22, "split", 1),  # one above the other
            _row(100, 200, 40, 40, "split", 2), _row(300, 200, 40, 40, "split", 2),  # side by side: not one character
            _row(100, 260, 40, 40, "extra", -1)]
    out = character_boxes(rows)
    assert out[0] == ("U+3042", (100.0, 100.0, 40.0, 40.0))
    assert out[1] == ("U+306E", (100.0, 150.0, 40.0, 44.0))
    assert [b for _, b in out[2:]] == [(100.0, 200.0, 40.0, 40.0), (300.0, 200.0, 40.0, 40.0), (100.0, 260.0, 40.0, 40.0)]


def _page(readings: str):
    """A one-column page whose boxes the classifier reads as ``readings``, each at probability 0.9."""
    from kuzushiji.structures import Candidate, Char, Column, Page

    chars = [Char((0, 50 * k, 40, 40), char_to_code(ch), ch, 0.9, 1.0,
                  [Candidate(char_to_code(ch), ch, 0.9), Candidate("U+5C71", "山", 0.01)], 0)
             for k, ch in enumerate(readings)]
    return Page("p", 100, 50 * len(readings), chars, [Column(list(range(len(chars))), (0, 0, 40, 50 * len(chars)))])


def test_kanji_and_its_kana_spelling_align_and_label_what_the_page_writes():
    """One copy writes 給 and 心, the other たま and こころ: the boxes are labelled as the page writes them."""
    from kuzushiji.align import align_page

    r = align_page(_page("あいたまへるか"), "あい給へるか", 0, AlignParams())  # kana boxes over the text's kanji
    assert [b.label for b in r.boxes] == list("あいたまへるか") and all(b.status == "accepted" for b in r.boxes)
    assert [b.text_pos for b in r.boxes] == [0, 1, 2, 2, 3, 4, 5]
    r = align_page(_page("あい心へるか"), "あいこころへるか", 0, AlignParams())  # a kanji box over the text's kana
    assert [b.label for b in r.boxes] == list("あい心へるか") and r.boxes[2].text_pos == 2
    r = align_page(_page("あいやまへるか"), "あい給へるか", 0, AlignParams())  # no reading of 給: not labelled
    assert r.boxes[2].label == "" and r.boxes[3].label == ""


def test_a_page_with_too_few_accepted_boxes_keeps_none():
    """Fewer accepted boxes than ``min_page_share`` of the page's boxes are chance: none is kept (nor moves the walk)."""
    from kuzushiji.align import align_page

    page, text = _page("あいうえお山"), "あいうえお"  # お and 山 aligned as one character cut in two
    assert len(align_page(page, text, 0, AlignParams()).accepted) == 4
    r = align_page(page, text, 0, AlignParams(min_page_share=0.9))
    assert not r.accepted and [b.status for b in r.boxes[:4]] == ["unsure"] * 4
