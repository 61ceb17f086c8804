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
