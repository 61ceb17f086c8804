"""Synthetic data commands: synth pages, synth crops, synth fonts."""
from __future__ import annotations

import argparse


def cmd_synth_pages(a: argparse.Namespace) -> int:
    import time

    from .synth.page import PageConfig
    from .synth.writer import generate_pages

    t = time.time()
    generate_pages(a.output, a.n, a.seed, a.workers, a.shared, _config(a, PageConfig(height=a.height)),
                   glyphs=tuple(a.glyphs or ()))
    dt = time.time() - t
    print(f"{a.n} pages in {a.output} ({a.n / dt:.1f} pages/s with {a.workers} workers at {a.height} px)")
    return 0


def cmd_synth_crops(a: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from .synth.classes import font_covered_codes, top_classes
    from .synth.writer import generate_crops

    exclude, only = tuple(a.exclude_font or ()), tuple(a.only_font or ())
    if a.classes_from:
        codes = json.loads((Path(a.classes_from) / "index.json").read_text(encoding="utf-8"))["codes"]
    else:
        codes = top_classes(a.shared, a.top, exclude)
    if only:  # e.g. a held-out-font test set: only the classes those fonts draw
        drawn = font_covered_codes(only_fonts=only)
        codes = [c for c in codes if c in drawn]
    from .synth.page import PageConfig

    cfg = _config(a, PageConfig(height=1200, furigana=0.3, spread=0.0, seal=0.05, illustration=0.05))
    generate_crops(a.output, codes, a.per_class, a.size, a.seed, a.workers, exclude, only_fonts=only, shared=a.shared,
                   glyphs=tuple(a.glyphs or ()), cfg=cfg)
    print(f"{len(codes)} classes x {a.per_class} crops in {a.output}")
    return 0


def _config(a: argparse.Namespace, cfg):
    """The page options shared by ``synth pages`` and ``synth crops``."""
    from dataclasses import replace

    return replace(cfg, jibo=a.jibo, hand=a.style == "hand", real_paper=a.real_paper if a.style == "hand" else 0.0,
                   real_glyphs=a.real_glyphs)


def _style_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jibo", type=float, default=0.0, help="per kana: draw it as the cursive form of a source kanji (字母)")
    p.add_argument("--style", choices=("hand", "mixed"), default="hand",
                   help="hand: one font/scale/stroke per page on real paper (default); mixed: the earlier font mix")
    p.add_argument("--real-paper", type=float, default=0.7, help="share of pages on paper cut from real scans")
    p.add_argument("--glyphs", action="append",
                   help="real glyphs to write with: a labelled page folder (e.g. `kuzushiji align` output), npz:, kkanji:")
    p.add_argument("--real-glyphs", type=float, default=0.5, help="share of pages written with --glyphs where they have the character")


def cmd_synth_fonts(a: argparse.Namespace) -> int:
    from .synth.fonts import build_coverage_table

    for name, v in build_coverage_table().items():
        print(f"{name:<32} {len(v['vocab']):>5} vocabulary codes  {len(v['hentaigana']):>4} hentaigana")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("synth", help="synthetic pages (Kaggle layout) or glyph crops").add_subparsers(dest="what", required=True)
    p = s.add_parser("pages", help="render pages into DIR/train.csv + DIR/train_images/")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("-n", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--height", type=int, default=1600)
    p.add_argument("--shared", default="../shared/data", help="where the real text files and scans are")
    _style_args(p)
    p.set_defaults(func=cmd_synth_pages)
    c = s.add_parser("crops", help="class-balanced glyph crops (images.npy, labels.npy, index.json)")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--top", type=int, default=2000, help="most frequent N classes that fonts draw")
    c.add_argument("--per-class", type=int, default=40)
    c.add_argument("--size", type=int, default=48)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--workers", type=int, default=2)
    c.add_argument("--exclude-font", action="append", help="leave a font out (held-out font evaluation)")
    c.add_argument("--only-font", action="append", help="render with these fonts only (held-out font test set)")
    c.add_argument("--classes-from", help="use the classes of this crop-array folder (index.json)")
    _style_args(c)
    c.add_argument("--shared", default="../shared/data")
    c.set_defaults(func=cmd_synth_crops)
    f = s.add_parser("fonts", help="measure each font's real coverage of the vocabulary")
    f.set_defaults(func=cmd_synth_fonts)
