"""docs/real_vs_synth.png: real pages beside synthetic ones (the layout statistics of both, and how well a
discriminator tells them apart, come from bench/realism.py -> docs/stats.png).

usage: python scripts/docs_figures.py SYNTH_DIR [SHARED]
"""
import sys
from pathlib import Path

import cv2
import numpy as np

from kuzushiji.io.image import load_image

synth = Path(sys.argv[1])
shared = Path(sys.argv[2] if len(sys.argv) > 2 else "../shared/data")
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

print("wrote docs/real_vs_synth.png")
