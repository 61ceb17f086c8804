"""Accuracy options: classifier/detector ensembles, the false-positive filter, the accurate mode."""
import json

import numpy as np
import pytest

from kuzushiji import Recognizer
from kuzushiji.errors import DataError
from kuzushiji.fp_filter import FEATURES, Evidence, FPFilter, best_threshold, box_features, train_filter
from kuzushiji.predictor import asset_path

bundled = pytest.mark.skipif(not asset_path("detector.onnx").is_file(), reason="bundled models not built")


def _page_arrays(rng, n=60, classes=30):
    x = rng.uniform(0, 900, n)
    y = rng.uniform(0, 1400, n)
    det = np.c_[x, y, rng.uniform(30, 50, n), rng.uniform(30, 50, n), rng.uniform(0.3, 1, n)].astype(np.float32)
    probs = rng.dirichlet(np.ones(classes) * 0.3, n).astype(np.float32)
    top = np.argsort(-probs, 1)[:, :5]
    return det, probs, top


def test_box_features_and_filter_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    xs, ys = [], []
    for _ in range(8):
        det, probs, top = _page_arrays(rng)
        choice = np.zeros(len(det), np.int64)
        f = box_features(det, probs, top, choice, [list(range(0, 30)), list(range(30, 60))], np.zeros(len(det)), 1000, 1500)
        assert f.shape == (60, len(FEATURES)) and np.isfinite(f).all()
        assert np.allclose(f[:, FEATURES.index("det_score")], det[:, 4])
        assert np.allclose(f[:, FEATURES.index("column_len")], 30)
        xs.append(f)
        ys.append(det[:, 4] * probs.max(1) > 0.25)  # "correct" = confident, which the filter must learn
    x, y = np.concatenate(xs), np.concatenate(ys)
    filt = train_filter(x[:360], y[:360])
    p = filt.predict(x[360:])
    assert p[y[360:]].mean() > p[~y[360:]].mean() + 0.3
    filt.threshold = best_threshold(filt.predict(x[:360]), y[:360], int(y[:360].sum()))
    filt.save(tmp_path / "f.json")
    again = FPFilter.load(tmp_path / "f.json")
    assert np.array_equal(again.predict(x[360:]), p) and again.threshold == filt.threshold
    assert len(again.boosters) == 5  # seeds averaged
    one = json.loads((tmp_path / "f.json").read_text())  # a filter saved before seeds: one "model"
    one["model"] = one.pop("models")[0]
    (tmp_path / "one.json").write_text(json.dumps(one))
    assert len(FPFilter.load(tmp_path / "one.json").boosters) == 1
    assert box_features(np.zeros((0, 5)), np.zeros((0, 3)), np.zeros((0, 3), int), np.zeros(0, int), [], np.zeros(0),
                        10, 10).shape == (0, len(FEATURES))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(DataError, match="bad.json"):
        FPFilter.load(bad)


def _permuted_classifier(src, dst, rename_one=False):
    """The bundled classifier with its output columns (and class list) in reverse order."""
    import onnx
    from onnx import helper

    m = onnx.load(str(src))
    meta = {p.key: p for p in m.metadata_props}
    codes = meta["codes"].value.split()
    out = m.graph.output[0].name
    m.graph.node[-1].output[0] = out + "_raw"  # the last node produced the logits
    perm = helper.make_tensor("perm", onnx.TensorProto.INT64, [len(codes)], list(range(len(codes)))[::-1])
    m.graph.initializer.append(perm)
    m.graph.node.append(helper.make_node("Gather", [out + "_raw", "perm"], [out], axis=1))
    new = codes[::-1]
    if rename_one:
        new[0] = "U+9999" if "U+9999" not in codes else "U+999A"
    meta["codes"].value = " ".join(new)
    onnx.save(m, str(dst))
    return dst


@bundled
def test_ensemble_aligns_class_orders(dev_pages, tmp_path):
    page = dev_pages / "images/100241706_00004_2.jpg"
    single = Recognizer(classifier=asset_path("classifier.onnx")).recognize(page)
    perm = _permuted_classifier(asset_path("classifier.onnx"), tmp_path / "perm.onnx")
    both = Recognizer(classifier=[asset_path("classifier.onnx"), perm]).recognize(page)
    assert both.text == single.text
    assert np.allclose([c.candidates[0].prob for c in both.chars], [c.candidates[0].prob for c in single.chars], atol=1e-4)
    other = _permuted_classifier(asset_path("classifier.onnx"), tmp_path / "other.onnx", rename_one=True)
    with pytest.raises(DataError, match="other.onnx"):
        Recognizer(classifier=[asset_path("classifier.onnx"), other])
    with pytest.raises(ValueError, match="mode"):
        Recognizer(mode="fastest")


@bundled
def test_filter_and_accurate_mode(dev_pages, tmp_path):
    from kuzushiji.cli import main
    from kuzushiji.metrics import match_page
    from kuzushiji.datasets.pages import load_pages

    rec = load_pages(dev_pages)[0]
    r = Recognizer(det_threshold=0.3, fp_filter=False)
    page = r.recognize(rec.image_path)
    # features in reading order line up with the page's characters
    from kuzushiji.io.image import read_page

    _, gray = read_page(rec.image_path)
    det = r.detect(gray)
    probs, evidence = r.classify_evidence(gray, det)
    assert np.array_equal(probs, r.classify(gray, det))
    x = r.features(det, probs, page.width, page.height, evidence)
    assert (x[:, FEATURES.index("memory_sim")] > 0).any()  # the bundled glyph memory has a say
    assert np.allclose(x[:, 0], [c.det_score for c in page.chars])
    used = match_page(rec.boxes, page.points())[2]
    filt = train_filter(x, used, rounds=50)
    filt.threshold = float(np.quantile(filt.predict(x), 0.3))  # drop the least likely third
    filt.save(tmp_path / "filter.json")
    filtered = Recognizer(det_threshold=0.3, fp_filter=tmp_path / "filter.json",
                          filter_max_drop=1.0).recognize(rec.image_path)  # uncapped: the filter alone decides
    kept = filt.keep(x)
    assert len(filtered.chars) == kept.sum() < len(page.chars)
    capped = Recognizer(det_threshold=0.3, fp_filter=tmp_path / "filter.json").recognize(rec.image_path)
    assert len(capped.chars) == filt.keep(x, max_drop=0.05).sum() >= len(page.chars) * 0.95  # the mode's cap
    assert match_page(rec.boxes, filtered.points())[0].precision > match_page(rec.boxes, page.points())[0].precision
    acc = Recognizer(mode="accurate")
    assert acc.det_scales == (0.9, 1.0, 1.1)
    if asset_path("fp_filter.json").is_file():  # the filter detects down to the threshold it was trained at
        assert acc.fp_filter is not None and acc.detector.threshold == acc.fp_filter.det_threshold
        assert len(acc.classifiers) == 1 + asset_path("classifier_2.onnx").is_file()
    assert Recognizer(mode="accurate", fp_filter=False).fp_filter is None
    filt.det_threshold = 0.35
    filt.save(tmp_path / "filter2.json")
    assert Recognizer(fp_filter=tmp_path / "filter2.json").detector.threshold == 0.35
    assert Recognizer(fp_filter=tmp_path / "filter2.json", det_threshold=0.6).detector.threshold == 0.6
    assert len(acc.recognize(rec.image_path).chars) > 20
    assert main(["recognize", str(rec.image_path), "-o", str(tmp_path / "out"), "--accurate", "--quiet"]) == 0
    assert json.loads((tmp_path / "out" / f"{rec.image_id}.json").read_text())["chars"]


@bundled
def test_prior_and_crop_framings(dev_pages):
    from kuzushiji.io.image import read_page
    from kuzushiji.predictor import MODES, TTA_PADS

    r = Recognizer(fp_filter=False)
    assert r.crop_pads == MODES["fast"]["crop_pads"] and Recognizer(tta=True).crop_pads == TTA_PADS
    n = len(r.classifier.codes)
    flat = np.full((3, n), 1.0 / n, np.float32)
    adjusted = r.adjust(flat)
    assert np.allclose(adjusted.sum(1), 1.0, atol=1e-4)
    # a classifier with no opinion now names the language model's most frequent character
    freq = {c: r.lm.t["p1"][r._lm_index[c]] for c in r.classifier.codes}
    assert r.classifier.codes[int(adjusted[0].argmax())] == max(freq, key=freq.get)
    assert Recognizer(prior_weight=0).adjust(flat) is flat
    assert Recognizer(lm_weight=0).adjust(flat) is flat  # no language model, no prior
    # framings: each is a real crop of the box, and several are averaged
    _, gray = read_page(dev_pages / "images/100241706_00004_2.jpg")
    det = r.detect(gray)[:40]
    tight, loose = (Recognizer(fp_filter=False, crop_pads=(p,)).read_crops(gray, det)[0][0] for p in (0.0, 0.3))
    both = Recognizer(fp_filter=False, crop_pads=(0.0, 0.3)).read_crops(gray, det)[0][0]
    assert np.allclose(both, (tight + loose) / 2, atol=1e-5) and not np.allclose(tight, loose, atol=1e-3)


@bundled
def test_shifted_detection_lands_on_the_same_characters(dev_pages):
    from kuzushiji.inference.detector import OnnxDetector
    from kuzushiji.io.image import read_page

    _, gray = read_page(dev_pages / "images/100241706_00004_2.jpg")
    det = OnnxDetector(asset_path("detector.onnx"))
    plain, shifted = det.runs(gray, 0.3, shifts=(0.0, 0.5))
    assert abs(len(plain) - len(shifted)) <= 0.1 * len(plain)
    cp, cs = plain[:, :2] + plain[:, 2:4] / 2, shifted[:, :2] + shifted[:, 2:4] / 2
    nearest = np.sqrt(((cp[:, None] - cs[None]) ** 2).sum(-1)).min(1)
    assert np.median(nearest) < 0.1 * np.median(plain[:, 3])  # shifted back into page coordinates
    fused = det(gray, scales=(1.0,), shifts=(0.0, 0.5))
    assert abs(len(fused) - len(det(gray))) <= 0.1 * len(plain)


@bundled
def test_glyph_memory(dev_pages, tmp_path):
    from kuzushiji.cli import main
    from kuzushiji.datasets.crops import from_pages
    from kuzushiji.datasets.pages import load_pages
    from kuzushiji.inference.classifier import OnnxClassifier
    from kuzushiji.memory import GlyphMemory
    from kuzushiji.io.crop import READ_PAD

    clf = OnnxClassifier(asset_path("classifier.onnx"))
    if not clf.has_features:
        pytest.skip("bundled classifier exported without features")
    recs = load_pages(dev_pages)
    mem = GlyphMemory.from_pages(clf, recs[1:], ["dev"])
    assert len(mem) == sum(len(r.boxes) for r in recs[1:]) - sum(
        b.code not in clf.codes for r in recs[1:] for b in r.boxes)
    mem.save(tmp_path / "m.npz")
    again = GlyphMemory.load(tmp_path / "m.npz")
    assert again.codes == clf.codes and len(again) == len(mem) and again.sources == ["dev"]
    # a remembered character is nearest to its own class
    crops = from_pages(recs[1:2], clf.size, progress=False, pad=READ_PAD)
    sim = again.similarity(clf.run(crops.images)[1])
    assert sim.shape == (len(crops.codes), len(clf.codes)) and sim.max() <= 1.0 + 1e-3 and sim.min() >= 0
    hits = np.array(clf.codes)[sim.argmax(1)] == crops.codes
    assert hits.mean() > 0.95
    # recognition with and without it; the vote moves probabilities toward remembered classes
    page = dev_pages / "images" / f"{recs[0].image_id}.jpg"
    with_mem = Recognizer(memory=tmp_path / "m.npz", memory_weight=2.0, fp_filter=False, prior_weight=0)
    without = Recognizer(memory=False, fp_filter=False)
    assert with_mem.memory is not None and without.memory is None
    flat = np.full((2, len(clf.codes)), 1.0 / len(clf.codes), np.float32)
    feats = clf.run(crops.images[:2])[1]
    voted = with_mem.combine([flat], [feats])[0]
    assert np.allclose(voted.sum(1), 1, atol=1e-4)
    assert (voted.argmax(1) == sim[:2].argmax(1)).all()  # with no opinion of its own, the memory decides
    assert len(with_mem.recognize(page).chars) == len(without.recognize(page).chars)
    # a memory belongs to its classifier; bad files are one line
    other = GlyphMemory(mem.features, mem.labels, mem.codes, "0" * 16)
    other.save(tmp_path / "other.npz")
    with pytest.raises(DataError, match="other.npz"):
        Recognizer(memory=tmp_path / "other.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="bad.npz"):
        GlyphMemory.load(tmp_path / "bad.npz")
    assert main(["memory", str(dev_pages), "-o", str(tmp_path / "cli.npz")]) == 0
    assert len(GlyphMemory.load(tmp_path / "cli.npz")) >= len(mem)
    assert main(["memory", str(dev_pages), "-o", str(tmp_path / "cli.npz")]) != 0  # never overwritten
    assert main(["memory", str(dev_pages), "-o", str(tmp_path / "more.npz"), "--extend", "bundled"]) == 0
    bundled = GlyphMemory.load(asset_path("memory.npz"))
    assert len(GlyphMemory.load(tmp_path / "more.npz")) == len(bundled) + len(GlyphMemory.load(tmp_path / "cli.npz"))
    with pytest.raises(DataError, match="another classifier"):
        bundled.merged(GlyphMemory.load(tmp_path / "other.npz"))
    for flag in (["--memory", str(tmp_path / "cli.npz")], ["--no-memory"]):
        out = tmp_path / flag[0].strip("-")
        assert main(["recognize", str(page), "-o", str(out), "--quiet", *flag]) == 0
        assert json.loads((out / f"{recs[0].image_id}.json").read_text())["chars"]
    assert main(["recognize", str(page), "-o", str(tmp_path / "bad"), "--quiet", "--memory",
                 str(tmp_path / "other.npz")]) != 0  # another classifier's memory: one line, no output


def test_evidence_features_describe_the_chosen_character():
    """raw_prob / members_agree / memory_sim are read at the chosen candidate (after the LM), not at top-1."""
    rng = np.random.default_rng(3)
    det, probs, top = _page_arrays(rng)
    n = len(det)
    choice = np.zeros(n, np.int64)
    choice[::2] = 1  # the LM took the second candidate for every other box
    cls = top[np.arange(n), choice]
    raw = rng.dirichlet(np.ones(probs.shape[1]), n).astype(np.float32)
    members = np.stack([cls, np.where(np.arange(n) % 3 == 0, cls, (cls + 1) % probs.shape[1])])
    sim = rng.random(probs.shape).astype(np.float32)
    cols = [list(range(n))]
    f = box_features(det, probs, top, choice, cols, np.zeros(n), 1000, 1500, Evidence(raw, members, sim))
    assert np.allclose(f[:, FEATURES.index("raw_prob")], raw[np.arange(n), cls])
    assert np.allclose(f[:, FEATURES.index("members_agree")], np.where(np.arange(n) % 3 == 0, 1.0, 0.5))
    assert np.allclose(f[:, FEATURES.index("memory_sim")], sim[np.arange(n), cls])
    plain = box_features(det, probs, top, choice, cols, np.zeros(n), 1000, 1500)  # one classifier, no memory
    assert np.allclose(plain[:, FEATURES.index("raw_prob")], plain[:, FEATURES.index("chosen_prob")])
    assert (plain[:, FEATURES.index("memory_sim")] == 0).all()
    assert np.allclose(plain[:, FEATURES.index("members_agree")], (choice == 0) | (top[:, 1] == top[:, 0]))


def test_hand_head_fit_is_a_deterministic_softmax_over_the_remembered_classes():
    from kuzushiji.memory import HandHead

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16))
    labels = np.repeat(np.array([3, 7, 8, 11, 19]), 40)
    x = centres[np.repeat(np.arange(5), 40)] + 0.3 * rng.normal(size=(200, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    head = HandHead.fit(x, labels, epochs=30)
    assert head.weight.shape == (16, 5) and list(head.classes) == [3, 7, 8, 11, 19]
    p = head.probs(x, 25)
    assert p.shape == (200, 25) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert (p[:, [c for c in range(25) if c not in head.classes]] == 0).all()
    assert (p.argmax(1) == labels).mean() > 0.95
    assert np.array_equal(HandHead.fit(x, labels, epochs=30).weight, head.weight)


def test_hand_head_in_memory_files_and_recognition(dev_pages, tmp_path):
    from kuzushiji.cli import main
    from kuzushiji.datasets.crops import from_pages
    from kuzushiji.datasets.pages import load_pages
    from kuzushiji.inference.classifier import OnnxClassifier
    from kuzushiji.io.crop import READ_PAD
    from kuzushiji.memory import GlyphMemory, HandHead

    clf = OnnxClassifier(asset_path("classifier.onnx"))
    if not clf.has_features:
        pytest.skip("bundled classifier exported without features")
    recs = load_pages(dev_pages)
    mem = GlyphMemory.from_pages(clf, recs[1:], ["dev"]).with_head(epochs=20)
    mem.save(tmp_path / "h.npz")
    again = GlyphMemory.load(tmp_path / "h.npz")
    assert np.array_equal(again.head.weight, mem.head.weight) and np.array_equal(again.head.classes, mem.head.classes)
    assert mem.merged(mem).head is None  # a merged memory is fitted anew
    crops = from_pages(recs[1:2], clf.size, progress=False, pad=READ_PAD)
    feats = clf.run(crops.images)[1]
    hp = again.head_probs(feats)
    assert hp.shape == (len(crops.codes), len(clf.codes)) and np.allclose(hp.sum(1), 1, atol=1e-4)
    assert (np.array(clf.codes)[hp.argmax(1)] == crops.codes).mean() > 0.9  # its own training glyphs
    # head_weight is the head's share of each classifier's probabilities
    flat = np.full((len(feats), len(clf.codes)), 1.0 / len(clf.codes), np.float32)
    only_head = Recognizer(memory=tmp_path / "h.npz", memory_weight=0, prior_weight=0, head_weight=1.0, fp_filter=False,
                           memory_scope="all")
    assert np.allclose(only_head.combine([flat], [feats])[0], hp, atol=1e-5)
    # scope "known" (the default): the head shares out only the mass the classifier gave the head's classes
    scoped = Recognizer(memory=tmp_path / "h.npz", memory_weight=0, prior_weight=0, head_weight=1.0, fp_filter=False)
    got, known = scoped.combine([flat], [feats])[0], hp.sum(0) > 0
    assert np.allclose(got[:, ~known], flat[:, ~known]) and np.allclose(got.sum(1), 1, atol=1e-5)
    assert np.allclose(got[:, known], hp[:, known] * flat[:, known].sum(1, keepdims=True), atol=1e-5)
    no_head = Recognizer(memory=tmp_path / "h.npz", memory_weight=0, prior_weight=0, head_weight=0.0, fp_filter=False)
    assert np.allclose(no_head.combine([flat], [feats])[0], flat)
    with pytest.raises(ValueError, match="head_weight"):
        Recognizer(memory=tmp_path / "h.npz", head_weight=1.5)
    # a head that does not fit its memory is a bad file, named in one line
    bad = GlyphMemory(mem.features, mem.labels, mem.codes, mem.fingerprint, [],
                      HandHead(mem.head.weight[:-1], mem.head.bias, mem.head.classes))
    bad.save(tmp_path / "badhead.npz")
    with pytest.raises(DataError, match="badhead.npz.*hand head"):
        GlyphMemory.load(tmp_path / "badhead.npz")
    # the CLI fits a head unless told not to; recognize takes its share
    assert main(["memory", str(dev_pages), "-o", str(tmp_path / "cli.npz")]) == 0
    assert main(["memory", str(dev_pages), "-o", str(tmp_path / "plain.npz"), "--no-head"]) == 0
    assert GlyphMemory.load(tmp_path / "cli.npz").head is not None
    assert GlyphMemory.load(tmp_path / "plain.npz").head is None
    page = dev_pages / "images" / f"{recs[0].image_id}.jpg"
    assert main(["recognize", str(page), "-o", str(tmp_path / "r"), "--quiet", "--memory", str(tmp_path / "cli.npz"),
                 "--head-weight", "0.5"]) == 0
    assert json.loads((tmp_path / "r" / f"{recs[0].image_id}.json").read_text())["chars"]
    with pytest.raises(SystemExit):
        main(["recognize", str(page), "-o", str(tmp_path / "r2"), "--head-weight", "2"])
