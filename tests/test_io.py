"""Readers: real samples where present, and one-line errors on malformed input."""
import numpy as np
import pytest
from PIL import Image

from kuzushiji.datasets import book_id, load_pages, split_by_book
from kuzushiji.errors import DataError
from kuzushiji.io.arrays import KMNIST_CODES, load_glyph_arrays, read_classmap
from kuzushiji.io.codh import read_coordinate_csv
from kuzushiji.io.image import load_image
from kuzushiji.io.kaggle import read_submission, read_train_csv, write_submission
from kuzushiji.structures import CharPoint
from kuzushiji.vocab import default_vocabulary


def test_vocabulary():
    v = default_vocabulary()
    assert len(v) == 4787 and "U+306B" in v and v.char("U+306B") == "に" and v.code_of_char("に") == "U+306B"


def test_real_pages_both_layouts(dev_pages):
    kaggle = {r.image_id: r for r in load_pages(dev_pages, default_vocabulary())}
    assert len(kaggle) == 4 and sum(len(r.boxes) for r in kaggle.values()) == 392
    codh = read_coordinate_csv(dev_pages / "coordinate.csv", default_vocabulary())
    for k, boxes in codh.items():
        assert sorted(boxes, key=lambda b: (b.x, b.y)) == sorted(kaggle[k].boxes, key=lambda b: (b.x, b.y))


def test_whole_book_coordinates(shared):
    pages = read_coordinate_csv(shared / "codh_coordinates_text_only/100249371_coordinate.csv", default_vocabulary())
    assert len(pages) == 83 and sum(map(len, pages.values())) == 9580


def _csv(tmp_path, text, name="train.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("text,needle", [
    ("", "empty CSV"),
    ("id,x\n", "expected header"),
    ("image_id,labels\np1,U+3042 1 2 3\n", ":2: labels hold 4 fields"),
    ("image_id,labels\np1,U+3042 1 2 3 4,extra\n", ":2: expected 2 columns"),
    ("image_id,labels\np1,U+ZZZZ 1 2 3 4\n", "bad code point"),
    ("image_id,labels\np1,U+0041 1 2 3 4\n", "unknown code point U+0041"),
    ("image_id,labels\np1,U+3042 -1 2 3 4\n", "negative box"),
    ("image_id,labels\np1,U+3042 1 2 0 4\n", "non-positive box size"),
    ("image_id,labels\np1,U+3042 1 two 3 4\n", "not a number"),
    ("image_id,labels\np1,\np1,\n", ":3: duplicate image_id"),
])
def test_train_csv_errors(tmp_path, text, needle):
    p = _csv(tmp_path, text)
    with pytest.raises(DataError) as e:
        list(read_train_csv(p, default_vocabulary()))
    assert needle in str(e.value) and str(p) in str(e.value) and "\n" not in str(e.value)


def test_out_of_image_box(tmp_path):
    p = _csv(tmp_path, "image_id,labels\np1,U+3042 90 10 20 20\n")
    with pytest.raises(DataError, match="outside the 100x100 image"):
        list(read_train_csv(p, None, {"p1": (100, 100)}))
    (tmp_path / "images").mkdir()
    Image.new("RGB", (100, 100)).save(tmp_path / "images/p1.jpg")
    with pytest.raises(DataError, match="outside"):
        load_pages(tmp_path)
    _csv(tmp_path, "image_id,labels\np2,U+3042 1 1 5 5\n")
    with pytest.raises(DataError, match="no image file for page p2"):
        load_pages(tmp_path)


def test_submission_roundtrip(tmp_path):
    pts = {"a": [CharPoint("U+3042", 10.4, 20.6)], "b": []}
    write_submission(tmp_path / "s.csv", pts)
    back = read_submission(tmp_path / "s.csv")
    assert back["a"] == [CharPoint("U+3042", 10, 21)] and back["b"] == []
    with pytest.raises(DataError, match="multiple of 3"):
        read_submission(_csv(tmp_path, "image_id,labels\na,U+3042 1\n", "bad.csv"))


def test_codh_errors(tmp_path):
    h = "Unicode,Image,X,Y,Block ID,Char ID,Width,Height\n"
    with pytest.raises(DataError, match=":2: expected 8 columns"):
        read_coordinate_csv(_csv(tmp_path, h + "U+3042,p,1,2,B0001,C0001,3\n", "c.csv"))
    with pytest.raises(DataError, match=":2: invalid box"):
        read_coordinate_csv(_csv(tmp_path, h + "U+3042,p,1,2,B0001,C0001,0,3\n", "c.csv"))


def test_images(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match="bad.jpg: not a readable image"):
        load_image(tmp_path / "bad.jpg")
    with pytest.raises(DataError, match="file not found"):
        load_image(tmp_path / "missing.png")
    a16 = (np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)
    Image.fromarray(a16).save(tmp_path / "16.png")
    im = load_image(tmp_path / "16.png")
    assert im.shape == (48, 64, 3) and im.dtype == np.uint8 and im.max() > 200
    Image.new("RGBA", (10, 20), (0, 0, 0, 0)).save(tmp_path / "rgba.png")
    assert load_image(tmp_path / "rgba.png").min() == 255  # transparent -> white paper
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90
    Image.new("RGB", (40, 10)).save(tmp_path / "rot.jpg", exif=exif)
    assert load_image(tmp_path / "rot.jpg").shape[:2] == (40, 10)
    Image.new("L", (100, 100)).save(tmp_path / "big.png")
    with pytest.raises(DataError, match="too large"):
        load_image(tmp_path / "big.png", max_pixels=5000)


def test_npz(tmp_path, shared):
    x, y = load_glyph_arrays(shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz",
                             shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz", "images", "labels")
    assert x.shape == (150, 28, 28) and set(y.tolist()) == set(range(10)) and len(KMNIST_CODES) == 10
    data = (shared / "k49_test_first100_unlabeled/k49_test_images_first100.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="trunc.npz: unreadable or truncated npz"):
        load_glyph_arrays(tmp_path / "trunc.npz")
    _csv(tmp_path, "index,codepoint,char\n0,U+3042,あ\n1,U+3044,い\n", "k49_classmap.csv")
    assert read_classmap(tmp_path / "k49_classmap.csv") == ["U+3042", "U+3044"]


def test_split_by_book():
    ids = ["100241706_00004_2", "100241706_00005_1", "200014740-00017_1", "hnsd006-026", "hnsd007-001"]
    assert book_id(ids[2]) == "200014740" and book_id(ids[3]) == book_id(ids[4]) == "hnsd"
    train, val = split_by_book(ids, val_books=["hnsd"])
    assert val == ids[3:] and train == ids[:3]
    train, val = split_by_book(ids, 0.34, seed=1)
    assert not {book_id(p) for p in train} & {book_id(p) for p in val}


def test_prepare_combines_k49_and_kkanji(tmp_path):
    from kuzushiji.cli import main

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "k49-imgs.npz", rng.integers(0, 255, (30, 28, 28), dtype=np.uint8))
    np.savez(tmp_path / "k49-labels.npz", np.repeat([0, 1, 2], 10))
    _csv(tmp_path, "index,codepoint,char\n0,U+3042,あ\n1,U+3044,い\n2,U+3046,う\n", "k49_classmap.csv")
    for code, n in [("U+5C71", 3), ("U+5DDD", 12)]:
        d = tmp_path / "kkanji2" / code
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(d / f"{i}.png")
    out = tmp_path / "combined"
    assert main(["prepare", "--source", f"npz:{tmp_path}/k49-imgs.npz,{tmp_path}/k49-labels.npz,{tmp_path}/k49_classmap.csv",
                 "--source", f"kkanji:{tmp_path}/kkanji2", "-o", str(out), "--size", "32", "--cap", "8",
                 "--min-per-class", "5"]) == 0
    import json
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    y = np.load(out / "labels.npy")
    assert index["codes"] == ["U+3042", "U+3044", "U+3046", "U+5C71", "U+5DDD"] and index["chars"][3] == "山"
    assert np.load(out / "images.npy").shape == (len(y), 32, 32)
    assert np.bincount(y).tolist() == [8, 8, 8, 5, 8]  # capped at 8, the 3-sample class oversampled to 5


def test_read_text_is_utf8_or_one_line(tmp_path):
    from kuzushiji.io.text import read_text

    (tmp_path / "bom.txt").write_bytes("\ufeffいづれの御時にか".encode("utf-8"))
    assert read_text(tmp_path / "bom.txt") == "いづれの御時にか"
    (tmp_path / "latin.txt").write_bytes(b"\xff\xfe not utf-8")
    for name in ("latin.txt", "missing.txt"):
        with pytest.raises(DataError, match=f"{name}.*UTF-8"):
            read_text(tmp_path / name)
