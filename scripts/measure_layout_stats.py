"""Measure the real layout statistics the page generator samples from; writes data/layout_stats.json.

Sources: the whole-book CODH coordinate tables in ../shared/data (148 pages, 18k characters).
Page heights: 100241706 pages are 3,874 px high (measured on its 4 images); 100249371 has no images,
so its height is estimated as 1.05 x the largest y+h of any box (2,759 px).
"""
import json
import sys
from pathlib import Path

from kuzushiji.io.codh import read_coordinate_csv
from kuzushiji.synth.stats import default_stats_path, measure

shared = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
d = shared / "codh_coordinates_text_only"
b2 = d / "100249371_coordinate.csv"
h2 = 1.05 * max(b.y + b.h for p in read_coordinate_csv(b2).values() for b in p)
stats = measure({"100241706": (d / "100241706_coordinate.csv", 3874.0), "100249371": (b2, round(h2))})
default_stats_path().write_text(json.dumps(stats, indent=1, ensure_ascii=False), encoding="utf-8")
print(json.dumps({k: stats[k] for k in ("kana_height", "kanji_height", "column_pitch", "chars_per_column", "columns_per_page", "counts")}, indent=1))
