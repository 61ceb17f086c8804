"""Synthetic page generation speed (pages per second) at a given height and worker count, start-up included.

usage: python bench/synth.py [-n 200] [--style hand|mixed] [--glyphs work/genji_align]"""
import argparse
import tempfile
import time

from kuzushiji.synth.page import PageConfig
from kuzushiji.synth.writer import generate_pages



def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=200)
    p.add_argument("--height", type=int, default=1600)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--shared", default="../shared/data")
    p.add_argument("--style", choices=("hand", "mixed"), default="hand")
    p.add_argument("--glyphs", action="append", default=[], help="real glyph sources (synth --glyphs)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cfg = PageConfig(height=a.height) if a.style == "hand" else PageConfig(height=a.height, hand=False, real_paper=0.0)
        t = time.perf_counter()  # worker start-up (fonts, real paper, real glyphs) included
        generate_pages(d, a.n, seed=1, workers=a.workers, shared=a.shared, cfg=cfg, glyphs=tuple(a.glyphs))
        dt = time.perf_counter() - t
    print(f"{'style':<16}{'pages':<8}{'height':>8}{'workers':>9}{'seconds':>9}{'pages/s':>9}")
    style = a.style + (" + glyphs" if a.glyphs else "")
    print(f"{style:<16}{a.n:<8}{a.height:>8}{a.workers:>9}{dt:>9.1f}{a.n / dt:>9.2f}")


if __name__ == "__main__":  # the worker processes import this module
    main()
