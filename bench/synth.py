"""Synthetic page generation speed (pages per second) at a given height and worker count."""
import argparse
import tempfile
import time

from kuzushiji.synth.page import PageConfig
from kuzushiji.synth.writer import generate_pages

p = argparse.ArgumentParser()
p.add_argument("-n", type=int, default=200)
p.add_argument("--height", type=int, default=1600)
p.add_argument("--workers", type=int, default=2)
p.add_argument("--shared", default="../shared/data")
a = p.parse_args()
with tempfile.TemporaryDirectory() as d:
    generate_pages(d, 8, seed=99, workers=1, shared=a.shared, cfg=PageConfig(height=a.height))  # warm the font caches
    t = time.perf_counter()
    generate_pages(d, a.n, seed=1, workers=a.workers, shared=a.shared, cfg=PageConfig(height=a.height))
    dt = time.perf_counter() - t
print(f"{'pages':<10}{'height':>8}{'workers':>9}{'seconds':>9}{'pages/s':>9}")
print(f"{a.n:<10}{a.height:>8}{a.workers:>9}{dt:>9.1f}{a.n / dt:>9.2f}")
