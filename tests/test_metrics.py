"""The competition F1 on hand-built pages."""
from kuzushiji.metrics import score
from kuzushiji.structures import CharBox as B, CharPoint as P


def test_perfect_and_empty():
    truth = {"p": [B("U+3042", 0, 0, 10, 10), B("U+3044", 0, 20, 10, 10)]}
    r = score(truth, {"p": [P("U+3042", 5, 5), P("U+3044", 5, 25)]})
    assert (r.total.tp, r.total.fp, r.total.fn) == (2, 0, 0) and r.f1 == 1.0
    r = score(truth, {})
    assert (r.total.tp, r.total.fp, r.total.fn) == (0, 0, 2) and r.f1 == 0.0


def test_wrong_label_is_fp_and_fn():
    r = score({"p": [B("U+3042", 0, 0, 10, 10)]}, {"p": [P("U+3044", 5, 5)]})
    assert (r.total.tp, r.total.fp, r.total.fn) == (0, 1, 1)
    assert score({"p": [B("U+3042", 0, 0, 10, 10)]}, {"p": [P("U+3044", 5, 5)]}, class_agnostic=True).f1 == 1.0


def test_point_on_edge_is_a_miss():
    truth = {"p": [B("U+3042", 10, 10, 10, 10)]}
    for x, y in [(10, 15), (20, 15), (15, 10), (15, 20)]:
        r = score(truth, {"p": [P("U+3042", x, y)]})
        assert (r.total.tp, r.total.fp, r.total.fn) == (0, 1, 1), (x, y)
    assert score(truth, {"p": [P("U+3042", 10.01, 19.99)]}).f1 == 1.0


def test_duplicates_match_once():
    truth = {"p": [B("U+3042", 0, 0, 10, 10)]}
    r = score(truth, {"p": [P("U+3042", 5, 5), P("U+3042", 6, 6)]})
    assert (r.total.tp, r.total.fp, r.total.fn) == (1, 1, 0)


def test_first_unused_prediction_is_taken_in_truth_order():
    # Two overlapping boxes, two points both inside the first box; the second point is also in the 2nd box.
    truth = {"p": [B("U+3042", 0, 0, 20, 20), B("U+3042", 10, 10, 20, 20)]}
    preds = {"p": [P("U+3042", 15, 15), P("U+3042", 5, 5)]}
    r = score(truth, preds)
    # Box 1 takes the first point (15,15); box 2 finds only (5,5), which is outside it -> 1 TP, 1 FP, 1 FN.
    assert (r.total.tp, r.total.fp, r.total.fn) == (1, 1, 1)


def test_pages_only_in_truth_or_only_in_predictions():
    truth = {"a": [B("U+3042", 0, 0, 10, 10)], "empty": []}
    preds = {"b": [P("U+3042", 5, 5), P("U+3042", 1, 1)], "empty": []}
    r = score(truth, preds)
    assert (r.total.tp, r.total.fp, r.total.fn) == (0, 2, 1)
    assert r.unknown_pages == ["b"] and r.pages["empty"].f1 == 0.0


def test_sums_before_f1_and_flags_big_pages():
    truth = {"a": [B("U+3042", 0, 0, 10, 10)] * 3, "b": [B("U+3042", 0, 0, 10, 10)]}
    preds = {"a": [P("U+3042", 5, 5)] * 3, "b": [P("U+3042", 50, 50)] * 1201}
    r = score(truth, preds, per_class=True)
    assert (r.total.tp, r.total.fp, r.total.fn) == (3, 1201, 1)
    assert r.flagged == ["b"]
    assert r.per_class["U+3042"].tp == 3
    p, rc = 3 / 1204, 3 / 4
    assert abs(r.f1 - 2 * p * rc / (p + rc)) < 1e-12


def test_cer_reading_and_kanji_spellings():
    from kuzushiji.cer import cer, edit_distance, reading, spelling_distance
    assert edit_distance("かきくけこ", "かくけこさ") == 2 and edit_distance("", "あい") == 2
    assert reading("ガ\nぱゝ＋＋ゟ") == "かはははより"  # no dakuten, hiragana, iteration marks and ligatures spelled out
    # a kanji matches a kana spelling of one of its readings (KANJIDIC), either side, historical kana too
    assert spelling_distance("給ふ", "たまふ") == 0 and spelling_distance("たまふ", "給") == 0
    assert spelling_distance("きこえ", "聞え") == 0 and spelling_distance("心", "こころ") == 0
    assert spelling_distance("給", "こころ") == 3 and spelling_distance("あ", "い") == 1
    assert spelling_distance("", "給") == 1 and spelling_distance("給", "") == 1
    assert spelling_distance("日", "ひ") == 1  # not one kana: too easily a coincidence
    assert cer("御心ちに", "御こころちに") == 3 / 6 and cer("御心ちに", "御こころちに", spelling=True) == 0.0


def test_edit_ops_split_the_edit_distance_into_substitutions_deletions_insertions():
    from kuzushiji.cer import edit_distance, edit_ops

    assert edit_ops("かきくけ", "かきくけ") == (0, 0, 0)
    assert edit_ops("かくけ", "かきくけ") == (0, 1, 0)  # き missing from the reading: a deletion
    assert edit_ops("かきくくけ", "かきくけ") == (0, 0, 1)
    assert edit_ops("かきこけ", "かきくけ") == (1, 0, 0)
    for hyp, ref in (("あいう", ""), ("", "あい"), ("いろはにほ", "いはにへとち")):
        assert sum(edit_ops(hyp, ref)) == edit_distance(hyp, ref)
