"""Synthetic pages: Kaggle layout, determinism, real font coverage, labels inside the image."""
import numpy as np
import pytest

from kuzushiji.datasets import load_pages
from kuzushiji.synth.fonts import hentaigana_reading, load_coverage
from kuzushiji.synth.glyphs import GlyphBank
from kuzushiji.synth.page import PageConfig, PageRenderer
from kuzushiji.synth.stats import load_stats, split_columns
from kuzushiji.synth.text import BalancedText, ColumnTexts
from kuzushiji.io.crop import crop_box
from kuzushiji.synth.writer import generate_pages
from kuzushiji.structures import CharBox


def _bank():
    try:
        return GlyphBank()
    except RuntimeError:
        pytest.skip("synthesis fonts not installed")


def test_hentaigana_reading():
    assert hentaigana_reading(0x1B011) == "え"  # HENTAIGANA LETTER E-4
    assert hentaigana_reading(0x3042) is None


def test_coverage_is_real():
    cov = load_coverage()
    assert cov, "no coverage table"
    for name, v in cov.items():
        assert 0x306E in v["vocab"], name  # every face draws の
    assert any(len(v["hentaigana"]) > 200 for v in cov.values())


def test_render_is_deterministic_and_labels_fit():
    bank = _bank()
    r = PageRenderer(bank, ColumnTexts(["これはためしのぶんしやうなり", "山川草木悉皆成仏"]), load_stats(), PageConfig(height=600))
    a, b = r.render(np.random.default_rng(5)), r.render(np.random.default_rng(5))
    assert np.array_equal(a.image, b.image) and a.boxes == b.boxes
    assert len(a.boxes) > 10
    H, W = a.image.shape[:2]
    for bx in a.boxes:
        assert 0 <= bx.x and bx.x + bx.w <= W and 0 <= bx.y and bx.y + bx.h <= H
        assert bx.code.startswith("U+")


def test_generate_pages_kaggle_layout(tmp_path, shared):
    _bank()
    generate_pages(tmp_path, 3, seed=1, workers=1, shared=shared, cfg=PageConfig(height=500))
    pages = load_pages(tmp_path)
    assert len(pages) == 3 and all(p.boxes for p in pages)


def test_balanced_text_and_crop():
    t = BalancedText(list("あいう"))
    s = t.sample(np.random.default_rng(0))
    assert set(s) <= set("あいう") and len(s) >= 24
    g = np.full((100, 100), 200, np.uint8)
    g[40:60, 45:55] = 0
    c = crop_box(g, CharBox("U+3042", 45, 40, 10, 20), 32)
    assert c.shape == (32, 32) and c.min() < 50 and c[0, 0] == 200
    edge = crop_box(g, CharBox("U+3042", 95, 95, 10, 10), 16)  # partly outside: padded, not an error
    assert edge.shape == (16, 16)


def test_columns_rule():
    boxes = [CharBox("U+3042", 100, y, 20, 20) for y in (0, 30, 60)] + [CharBox("U+3042", 50, y, 20, 20) for y in (0, 30)]
    assert [len(c) for c in split_columns(boxes)] == [3, 2]


def test_kana_drawn_as_cursive_source_kanji_keep_their_kana_label():
    bank = _bank()
    assert any(k == "加" for _, k in bank.jibo["か"])  # か was written with 加 (字母)
    assert all(bank.fonts[i][0].style in ("sousho", "gyosho") for i, _ in bank.jibo["か"])
    cfg = PageConfig(height=600, jibo=1.0, hentaigana=0.0, furigana=0.0, degrade=False)
    page = PageRenderer(bank, BalancedText(["か"]), load_stats(), cfg).render(np.random.default_rng(0))
    assert page.boxes and {b.code for b in page.boxes} == {"U+304B"}


def test_one_hand_per_page_one_font_and_an_even_scale():
    bank = _bank()
    used: list[int] = []
    mask = bank.mask
    bank.mask = lambda f, ch: (used.append(f), mask(f, ch))[1]
    text = BalancedText(["の"])
    base = dict(height=800, furigana=0.0, degrade=False, hentaigana=0.0, spread=0.0)
    hand = PageRenderer(bank, text, load_stats(), PageConfig(**base)).render(np.random.default_rng(1))
    drawn, used[:] = list(used), []
    mixed = PageRenderer(bank, text, load_stats(), PageConfig(**base, hand=False)).render(np.random.default_rng(1))
    assert len(set(drawn[:len(hand.boxes)])) == 1 and len(set(used[:len(mixed.boxes)])) > 1
    spread = [np.std(np.log([b.h for b in p.boxes])) for p in (hand, mixed)]
    assert spread[0] < 0.12 < spread[1]  # one character scale with a little jitter, against sizes that jump


def test_real_paper_keeps_the_paper_and_drops_the_ink():
    from kuzushiji.synth.paper import blank_paper, ink_colour

    page = np.full((300, 200, 3), (215, 200, 170), np.uint8)
    page[:, :25] = (60, 55, 50)  # scanner border: part of the paper as scanned
    for x in range(60, 180, 30):
        page[40:260, x: x + 3] = (30, 25, 20)  # strokes
    bg = blank_paper(page)
    assert np.abs(bg[40:260, 50:190].astype(int) - (215, 200, 170)).max() <= 2  # strokes gone
    assert bg[150, 5].max() < 80  # the border stays
    assert np.abs(ink_colour(page) - (30, 25, 20)).max() < 40


def test_labelled_glyphs_write_pages_in_a_real_hand(tmp_path):
    from PIL import Image

    from kuzushiji.synth.glyphs import LabelledGlyphs

    bank = _bank()
    im = np.full((200, 200), 230, np.uint8)
    im[50:150, 60:70] = 20  # a real 'あ': a bar, unlike any font's
    im[50:60, 60:140] = 20
    (tmp_path / "train_images").mkdir()
    Image.fromarray(im).save(tmp_path / "train_images/p1.png")
    (tmp_path / "train.csv").write_text("image_id,labels\np1,U+3042 55 45 90 110\n")
    real = LabelledGlyphs([str(tmp_path)], progress=False)
    assert len(real) == 1 and "あ" in real.masks
    calls = []
    real_mask = real.mask
    real.mask = lambda ch, rng: (calls.append(ch), real_mask(ch, rng))[1]
    cfg = PageConfig(height=600, real_glyphs=1.0, furigana=0.0, degrade=False)
    page = PageRenderer(bank, BalancedText(["あ"]), load_stats(), cfg, real=real).render(np.random.default_rng(0))
    assert page.boxes and {b.code for b in page.boxes} == {"U+3042"} and len(calls) >= len(page.boxes)
