"""Hostile input and lost output: every case of the reliability issue, on a corpus the tests generate.

Each case ends in a correct output or one line naming the file and the problem; batches go on; the
exit status says whether anything failed; nothing an input or an earlier run wrote is lost.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kuzushiji.cli import main
from kuzushiji.predictor import asset_path

needs_models = pytest.mark.skipif(not asset_path("detector.onnx").is_file(), reason="bundled models not built")


@pytest.fixture(scope="module")
def small_page(tmp_path_factory) -> Path:
    """A real dev page at 700 px height (fast), as JPEG."""
    from conftest import DEV_PAGES

    src = DEV_PAGES / "images/100241706_00004_2.jpg"
    if not src.is_file():
        pytest.skip("real dev pages not present")
    p = tmp_path_factory.mktemp("page") / "page.jpg"
    im = Image.open(src).convert("RGB")
    im.resize((434, 700)).save(p, quality=92)
    return p


def _rows(path: Path) -> dict[str, str]:
    return {r["image_id"]: r["labels"] for r in csv.DictReader(open(path, encoding="utf-8"))}


def _one_error_line(err: str, *names: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.startswith("error")]
    assert len(lines) == 1, err
    for n in names:
        assert n in lines[0], (n, lines[0])


# --- 1. an output never replaces an input ------------------------------------------------------------

@needs_models
def test_output_folder_holding_inputs_is_refused(small_page, tmp_path, capsys):
    scans = tmp_path / "scans"
    scans.mkdir()
    png = scans / "p1.png"
    Image.open(small_page).save(png)
    before = png.read_bytes()
    assert main(["recognize", str(scans), "-o", str(scans), "--overlay", "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, str(scans), "holds the input")
    assert png.read_bytes() == before and sorted(q.name for q in scans.iterdir()) == ["p1.png"]
    # asked for: outputs go beside the scan, which stays untouched, and a rerun reads only the scan
    assert main(["recognize", str(scans), "-o", str(scans), "--overlay", "--quiet", "--into-input-folder"]) == 0
    assert main(["recognize", str(scans), "-o", str(scans), "--overlay", "--quiet", "--into-input-folder"]) == 0
    assert png.read_bytes() == before
    assert list(_rows(scans / "submission.csv")) == ["p1"]


# --- 2. inputs with the same name get distinct, stable page ids ----------------------------------------

def test_page_ids_are_unique_and_stable(tmp_path):
    from kuzushiji.io.output_folder import assign_page_ids

    files = [tmp_path / "a/001.jpg", tmp_path / "b/001.jpg", tmp_path / "p.png", tmp_path / "p.tif",
             tmp_path / "q.jpg", tmp_path / "a_001.jpg"]
    ids = assign_page_ids(files)
    assert ids[:5] == ["a_001", "b_001", "p_png", "p_tif", "q"] and len(set(ids)) == len(ids)
    assert assign_page_ids(files) == ids


@needs_models
def test_same_stem_inputs_keep_their_own_outputs(small_page, tmp_path, capsys):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    (tmp_path / "a/001.jpg").write_bytes(small_page.read_bytes())
    Image.open(small_page).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "b/001.jpg")
    Image.open(small_page).save(tmp_path / "a/p.png")
    Image.open(small_page).save(tmp_path / "a/p.tif")
    out = tmp_path / "out"
    inputs = [str(tmp_path / "a/001.jpg"), str(tmp_path / "b/001.jpg"), str(tmp_path / "a/p.png"), str(tmp_path / "a/p.tif")]
    assert main(["recognize", *inputs, "-o", str(out), "--quiet"]) == 0
    assert set(_rows(out / "submission.csv")) == {"a_001", "b_001", "p_png", "p_tif"}
    sources = {json.loads((out / f"{k}.json").read_text())["source"] for k in ("a_001", "b_001")}
    assert sources == {str((tmp_path / "a/001.jpg").resolve()), str((tmp_path / "b/001.jpg").resolve())}
    # a later run whose page id is already another file's result in that folder: an error, no overwrite
    out2 = tmp_path / "out2"
    assert main(["recognize", inputs[0], "-o", str(out2), "--quiet"]) == 0
    before = (out2 / "001.json").read_bytes()
    capsys.readouterr()
    assert main(["recognize", inputs[1], "-o", str(out2), "--quiet"]) == 1
    _one_error_line(capsys.readouterr().err, "001.jpg", "already holds the result")
    assert (out2 / "001.json").read_bytes() == before


# --- 3, 4. truncated and oversized images ---------------------------------------------------------------

@needs_models
@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_truncated_jpeg_is_an_error_naming_the_file(small_page, tmp_path, capsys, fraction):
    data = small_page.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: int(len(data) * fraction)])
    good = tmp_path / "good.jpg"
    good.write_bytes(data)
    assert main(["recognize", str(cut), str(good), "-o", str(tmp_path / "o"), "--quiet"]) == 1
    _one_error_line(capsys.readouterr().err, "cut.jpg", "truncated")
    assert list(_rows(tmp_path / "o/submission.csv")) == ["good"]


def _huge_jpeg_header(src: Path, dst: Path, w: int, h: int) -> None:
    """A real JPEG whose frame header claims ``w x h`` (what a giant scan's header says)."""
    data = bytearray(src.read_bytes())
    i = data.find(b"\xff\xc0")
    data[i + 5: i + 9] = h.to_bytes(2, "big") + w.to_bytes(2, "big")
    dst.write_bytes(bytes(data))


def test_pixel_limit_applies_before_decoding_whatever_the_suffix(small_page, tmp_path):
    from kuzushiji.errors import DataError
    from kuzushiji.io.image import load_image

    big = tmp_path / "big.jpg"
    _huge_jpeg_header(small_page, big, 20000, 20000)
    with pytest.raises(DataError, match="too large"):
        load_image(big)
    renamed = tmp_path / "png_named.jpg"  # a PNG bomb under a JPEG name
    Image.new("1", (30000, 30000)).save(renamed, format="PNG")
    with pytest.raises(DataError, match="too large"):
        load_image(renamed)


# --- 5. kill -9 and resume --------------------------------------------------------------------------

@needs_models
def test_resume_redoes_incomplete_pages_and_clears_dead_temporaries(small_page, tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    for n in ("p1", "p2", "p3"):
        (inp / f"{n}.jpg").write_bytes(small_page.read_bytes())
    out = tmp_path / "out"
    assert main(["recognize", str(inp), "-o", str(out), "--overlay", "--quiet"]) == 0
    reference = (out / "p1.json").read_bytes()
    # what a kill -9 leaves: an overlay never written, a temporary of a dead process, a 0-byte JSON
    (out / "p1.overlay.jpg").unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".p1.overlay.jpg.{dead.stdout.strip()}.abc123.tmp"
    stale.write_bytes(b"partial")
    (out / "p2.json").write_bytes(b"")
    (out / "submission.csv").write_text("image_id,labels\n")
    assert main(["recognize", str(inp), "-o", str(out), "--overlay", "--quiet", "--resume"]) == 0
    assert (out / "p1.overlay.jpg").is_file() and not stale.exists()
    assert (out / "p1.json").read_bytes() == reference  # identical runs write identical JSON
    assert set(_rows(out / "submission.csv")) == {"p1", "p2", "p3"}


# --- 6. batches into one folder, one after another and at the same time ---------------------------------

@needs_models
def test_runs_into_one_folder_keep_every_row(small_page, tmp_path):
    pages = []
    for n in ("a", "b", "c", "d"):
        p = tmp_path / "in" / f"{n}.jpg"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(small_page.read_bytes())
        pages.append(str(p))
    out = tmp_path / "out"
    assert main(["recognize", pages[0], "-o", str(out), "--quiet"]) == 0
    assert main(["recognize", pages[1], "-o", str(out), "--quiet"]) == 0
    assert set(_rows(out / "submission.csv")) == {"a", "b"}
    cmd = [sys.executable, "-m", "kuzushiji.cli", "recognize", "-o", str(out), "--quiet"]
    procs = [subprocess.Popen(cmd + [p]) for p in pages[2:]]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    assert set(_rows(out / "submission.csv")) == {"a", "b", "c", "d"}


# --- 7, 8. arrays of every dtype, through the CLI and the API ---------------------------------------------

@needs_models
def test_api_accepts_arrays_of_any_depth_and_pil_images(small_page):
    from kuzushiji import Recognizer
    from kuzushiji.errors import DataError

    rec = Recognizer()
    g8 = np.asarray(Image.open(small_page).convert("L"))
    ref = [c.code for c in rec.recognize(g8).chars]
    assert len(ref) > 10
    for arr in (g8.astype(np.uint16) * 257, g8 / 255.0, g8.astype(np.float32), g8[..., None],
                np.repeat(g8[..., None], 3, 2), Image.open(small_page)):
        got = [c.code for c in rec.recognize(arr).chars]
        assert abs(len(got) - len(ref)) <= 2 and np.mean([a == b for a, b in zip(got, ref)]) > 0.9
    for bad in (np.full((100, 100), np.nan), -g8.astype(np.int16) - 1, np.zeros((100, 100, 2), np.uint8), "x" * 3):
        with pytest.raises(DataError):
            rec.recognize(bad if not isinstance(bad, str) else np.array([bad]))


@needs_models
def test_classify_npz_dtypes_and_bad_arrays(shared, tmp_path, capsys):
    z = np.load(shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz")
    x = z["images"][:20]
    np.savez(tmp_path / "u8.npz", x)
    np.savez(tmp_path / "u16.npz", x.astype(np.uint16) * 257)
    np.savez(tmp_path / "f01.npz", x / 255.0)
    np.savez(tmp_path / "nan.npz", np.full((2, 28, 28), np.nan))
    np.savez(tmp_path / "neg.npz", -np.ones((2, 28, 28), np.int16))
    np.savez(tmp_path / "empty.npz")
    np.savez(tmp_path / "zero.npz", np.zeros((5, 0, 0), np.uint8))
    np.savez(tmp_path / "keys.npz", images=x, labels=z["labels"][:20])
    capsys.readouterr()
    names = ["u8", "nan", "u16", "neg", "empty", "zero", "f01", "keys"]
    rc = main(["classify", *[str(tmp_path / f"{n}.npz") for n in names], "--top-k", "1"])
    cap = capsys.readouterr()
    assert rc == 1
    errors = [line for line in cap.err.splitlines() if line.startswith("error")]
    assert len(errors) == 4 and all(any(f"{n}.npz" in e for e in errors) for n in ("nan", "neg", "empty", "zero"))
    rows = list(csv.DictReader(cap.out.splitlines()))
    by = {n: [r["code"] for r in rows if r["source"].endswith(f"{n}.npz")] for n in ("u8", "u16", "f01", "keys")}
    assert len(by["u8"]) == 20 and by["u16"] == by["u8"] and by["f01"] == by["u8"] and by["keys"] == by["u8"]


def test_classify_into_a_closed_pipe_is_quiet(shared):
    npz = shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz"
    if not asset_path("classifier.onnx").is_file():
        pytest.skip("bundled models not built")
    r = subprocess.run(f"{sys.executable} -m kuzushiji.cli classify {npz} --key images | head -1",
                       shell=True, capture_output=True, text=True, timeout=120)
    assert r.stdout.startswith("source,") and "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr


# --- 9, 10. arguments and files that would give wrong answers ---------------------------------------------

@pytest.mark.parametrize("t", ["nan", "2", "-1", "0", "x"])
def test_threshold_outside_0_1_is_refused(t, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["recognize", "x.jpg", "-o", str(tmp_path), "--threshold", t])
    assert e.value.code == 2 and "threshold" in capsys.readouterr().err


def test_box_file_as_predictions_is_refused(dev_pages, capsys):
    truth = str(dev_pages / "train.csv")
    assert main(["evaluate", "--truth", truth, "--pred", truth]) == 2
    _one_error_line(capsys.readouterr().err, "train.csv", "holds boxes")


# --- 11-13. one line instead of a stack trace --------------------------------------------------------------

def test_evaluate_encodings_bom_and_case(dev_pages, tmp_path, capsys):
    truth = str(dev_pages / "train.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"image_id,labels\n\xff\xfe\x00garbage\x81\n")
    assert main(["evaluate", "--truth", truth, "--pred", str(binary)]) == 2
    _one_error_line(capsys.readouterr().err, "bin.csv", "UTF-8")
    page = "100241706_00004_2"
    box = next(r for r in csv.DictReader(open(truth, encoding="utf-8")) if r["image_id"] == page)["labels"].split()[:5]
    code, x, y, w, h = box[0], *map(float, box[1:])
    sub = tmp_path / "bom.csv"
    sub.write_bytes(("\ufeffimage_id,labels\n" + f"{page},{code.lower()} {x + w / 2:.0f} {y + h / 2:.0f}\n").encode())
    assert main(["evaluate", "--truth", truth, "--pred", str(sub), "--summary"]) == 0
    assert "TP" not in capsys.readouterr().err
    report = __import__("kuzushiji.evaluate", fromlist=["x"]).evaluate_files(truth, sub)
    assert report.total.tp == 1


@needs_models
def test_output_path_is_a_file_and_corrupt_models(small_page, tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("keep me")
    assert main(["recognize", str(small_page), "-o", str(f), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "file.txt", "not a folder")
    assert f.read_text() == "keep me"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage" * 50)
    assert main(["recognize", str(small_page), "-o", str(tmp_path / "o"), "--detector", str(bad), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "bad.onnx", "not a valid ONNX model")
    assert main(["recognize", str(small_page), "-o", str(tmp_path / "o"), "--detector",
                 str(asset_path("classifier.onnx")), "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err, "classifier.onnx", "not a detector")


@needs_models
def test_empty_directory_or_glob_is_reported(small_page, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "o"
    assert main(["recognize", str(tmp_path / "empty"), str(tmp_path / "none*.jpg"), str(small_page),
                 "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "empty: directory holds no images" in err and "none*.jpg: pattern matches no images" in err


# --- fuzzed CSVs and npz files: a DataError or a result, never anything else ---------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_token = st.one_of(st.sampled_from(["U+3042", "u+306e", "U+ZZZZ", "U+110000", "nan", "inf", "-1", "0", "1e9", ""]),
                   st.integers(-5, 5000).map(str), st.text(max_size=6))


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(rows=st.lists(st.tuples(st.text(max_size=8), st.lists(_token, max_size=12)), max_size=5),
                  header=st.sampled_from(["image_id,labels", "\ufeffimage_id,labels", "image_id", "Unicode,x", ""]),
                  raw=st.binary(max_size=20))
def test_fuzzed_label_csvs_never_crash(tmp_path_factory, rows, header, raw):
    from kuzushiji.errors import DataError
    from kuzushiji.evaluate import evaluate_files, read_truth

    d = tmp_path_factory.mktemp("fuzz")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for image_id, toks in rows:
        w.writerow([image_id, " ".join(toks)])
    p = d / "f.csv"
    p.write_bytes((header + "\n").encode() + buf.getvalue().encode() + raw)
    for fn in (lambda: read_truth(p), lambda: evaluate_files(p, p), lambda: evaluate_files(p, p, class_agnostic=True)):
        try:
            fn()
        except DataError as e:
            assert str(e).startswith(str(p)) and "\n" not in str(e)


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(shape=st.lists(st.integers(0, 6), min_size=1, max_size=4),
                  dtype=st.sampled_from(["uint8", "uint16", "int32", "float32", "float64", "bool", "int8"]),
                  fill=st.sampled_from([0, 1, 255, 65535, -3, 0.5, float("nan"), float("inf")]),
                  cut=st.integers(0, 400))
def test_fuzzed_npz_never_crash(tmp_path_factory, shape, dtype, fill, cut):
    from kuzushiji.errors import DataError
    from kuzushiji.io.arrays import load_glyph_arrays

    d = tmp_path_factory.mktemp("npz")
    p = d / "a.npz"
    with np.errstate(all="ignore"):
        a = np.full(shape, fill).astype(dtype)
    np.savez(p, a)
    if cut:
        p.write_bytes(p.read_bytes()[:cut])
    try:
        x, _ = load_glyph_arrays(p)
        assert x.dtype == np.uint8 and x.ndim == 3 and x.size > 0
    except DataError as e:
        assert str(e).startswith(str(p)) and "\n" not in str(e)
