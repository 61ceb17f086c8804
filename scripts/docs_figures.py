"""Make the documentation figures: real pages beside synthetic ones, and real vs synthetic layout
statistics (box sizes relative to page height, columns per page, characters per column).

usage: python scripts/docs_figures.py PICTURE_SYNTH_DIR STATS_SYNTH_DIR [SHARED]
       -> docs/real_vs_synth.png, docs/stats.png
"""
import sys
from pathlib import Path

import cv2
import numpy as np

from kuzushiji.datasets import load_pages
from kuzushiji.io.codh import read_coordinate_csv
from kuzushiji.io.image import load_image
from kuzushiji.synth.stats import split_columns

synth = Path(sys.argv[1])
stats_synth = Path(sys.argv[2])
shared = Path(sys.argv[3] if len(sys.argv) > 3 else "../shared/data")
out = Path("docs")
out.mkdir(exist_ok=True)

H = 700
real = [shared / "kuzushiji_pages_100241706/images/100241706_00005_2.jpg",
        shared / "codh_pages_unlabeled/images/200017458_00030_2.jpg",
        shared / "codh_pages_unlabeled/images/200010454_00012_1.jpg"]
syn = sorted((synth / "train_images").glob("*.jpg"))[:6]
syn = [p for p in syn if cv2.imread(str(p)).shape[1] < cv2.imread(str(p)).shape[0]][:3]


def row(paths, label):
    ims = []
    for p in paths:
        im = load_image(p)
        im = cv2.resize(im, (int(im.shape[1] * H / im.shape[0]), H), interpolation=cv2.INTER_AREA)
        ims.append(np.pad(im, ((0, 0), (6, 6), (0, 0)), constant_values=255))
    r = np.hstack(ims)
    bar = np.full((36, r.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, label, (10, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    return np.vstack([bar, r])


a, b = row(real, "REAL (CODH)"), row(syn, "SYNTHETIC (kuzushiji synth pages)")
w = max(a.shape[1], b.shape[1])
grid = np.vstack([np.pad(x, ((0, 0), (0, w - x.shape[1]), (0, 0)), constant_values=255) for x in (a, b)])
cv2.imwrite(str(out / "real_vs_synth.png"), grid[:, :, ::-1])


def layout(pages, heights):
    hs, ncol, percol = [], [], []
    for boxes, Hp in zip(pages, heights):
        if len(boxes) < 20:
            continue
        hs += [b.h / Hp for b in boxes]
        cols = split_columns(boxes)
        ncol.append(len(cols))
        percol += [len(c) for c in cols]
    return np.array(hs), np.array(ncol), np.array(percol)


codh = read_coordinate_csv(shared / "codh_coordinates_text_only/100241706_coordinate.csv")
codh2 = read_coordinate_csv(shared / "codh_coordinates_text_only/100249371_coordinate.csv")
real_l = layout(list(codh.values()) + list(codh2.values()), [3874.0] * len(codh) + [2897.0] * len(codh2))
recs = load_pages(stats_synth, check_sizes=False)[:400]


def reading_sorted(boxes):
    return sorted(boxes, key=lambda b: (-round(b.cx / 40), b.y))


syn_l = layout([reading_sorted(r.boxes) for r in recs], [cv2.imread(str(r.image_path)).shape[0] for r in recs])

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(1, 3, figsize=(14, 3.6))
for i, (title, bins) in enumerate([("box height / page height", np.linspace(0, 0.08, 40)),
                                   ("columns per page", np.arange(0, 26)), ("characters per column", np.arange(0, 40))]):
    ax[i].hist(real_l[i], bins=bins, density=True, alpha=0.6, label="real (2 CODH books, 135 pages)")
    ax[i].hist(syn_l[i], bins=bins, density=True, alpha=0.6, label=f"synthetic ({len(recs)} pages)")
    ax[i].set_title(title)
    ax[i].legend(fontsize=8)
fig.tight_layout()
fig.savefig(out / "stats.png", dpi=100)
print("wrote docs/real_vs_synth.png docs/stats.png")
