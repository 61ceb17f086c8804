"""How real do synthetic pages look? (a benchmark, not a test): prints a table, writes docs/stats.png.

1. A small CNN learns to tell real from synthetic (a) page patches (256 px at 1,600 px page height, seen at
   64 px) and (b) character crops (48 px; real ones where the bundled detector finds characters). Its AUC on
   held-out pages (2 folds by page, averaged) says how distinguishable they are: 0.5 = not at all.
2. Layout statistics side by side: character height, column pitch, characters per column, ink density.

Real references are scans the generator never uses (its paper comes from other sides, see
synth/paper.py): the Genji manuscript's held-out block (200010454_00030_1 ... 00033_2) and three woodblock
pages (200021063_00019_2, 200021071_00075_1, 200021071_00081_1). Each synthetic style renders the same number
of pages with the same seeds.

usage: python bench/realism.py [--pages 40] [--glyphs work/genji_align]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn as nn

from kuzushiji.inference.detector import OnnxDetector
from kuzushiji.io.crop import crop_box
from kuzushiji.io.image import load_image
from kuzushiji.io.kaggle import read_train_csv
from kuzushiji.predictor import asset_path
from kuzushiji.reading_order import group_columns
from kuzushiji.structures import CharBox
from kuzushiji.synth.page import PageConfig
from kuzushiji.synth.writer import generate_pages

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
H = 1600


def real_pages() -> list[Path]:
    d = SHARED / "codh_pages_unlabeled/images"
    return sorted(d.glob("200010454_*.jpg"))[-8:] + sorted(d.glob("20002106*.jpg")) + sorted(d.glob("20002107*.jpg"))


def page_gray(path: Path) -> np.ndarray:
    g = load_image(path, "L")
    return cv2.resize(g, (round(g.shape[1] * H / g.shape[0]), H), interpolation=cv2.INTER_AREA)


def patches(g: np.ndarray, rng: np.random.Generator, n: int = 40, size: int = 256) -> np.ndarray:
    ys = rng.integers(0, g.shape[0] - size, n)
    xs = rng.integers(0, g.shape[1] - size, n)
    return np.stack([cv2.resize(g[y: y + size, x: x + size], (64, 64), interpolation=cv2.INTER_AREA) for y, x in zip(ys, xs)])


def crops(g: np.ndarray, boxes: np.ndarray, rng: np.random.Generator, n: int = 60) -> np.ndarray:
    if len(boxes) == 0:
        return np.zeros((0, 48, 48), np.uint8)
    pick = rng.choice(len(boxes), min(n, len(boxes)), replace=False)
    return np.stack([crop_box(g, CharBox("", *boxes[i][:4]), 48) for i in pick])


def layout(g: np.ndarray, boxes: np.ndarray) -> dict[str, list[float]]:
    """Character heights and column pitch relative to the page height, characters per column, ink density."""
    if len(boxes) < 3:
        return {}
    cols = [c for c in group_columns(boxes[:, :4]) if len(c) >= 2]
    cx = sorted(float(np.median(boxes[c, 0] + boxes[c, 2] / 2)) for c in cols)
    pitch = [b - a for a, b in zip(cx, cx[1:]) if b - a < 0.2 * H]
    _, ink = cv2.threshold(cv2.GaussianBlur(g, (3, 3), 0), 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return {"height": (boxes[:, 3] / H).tolist(), "pitch": (np.array(pitch) / H).tolist(),
            "per_column": [float(len(c)) for c in cols], "ink": [float(ink.mean())]}


class Disc(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        ch = [1, 16, 32, 64]
        layers = []
        for a, b in zip(ch, ch[1:]):
            layers += [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(), nn.MaxPool2d(2)]
        self.f = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1))

    def forward(self, x):
        return self.f(x).squeeze(1)


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Probability that a random real item scores above a random synthetic one (ties count half)."""
    order = np.argsort(score)
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    for s in np.unique(score):  # average ranks of ties
        m = score == s
        ranks[m] = ranks[m].mean()
    pos = label == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum()))


def held_out_auc(real: list[np.ndarray], synth: list[np.ndarray], seed: int = 0) -> float:
    """Mean AUC over 2 folds by page: train on half the pages of each kind, score the other half."""
    torch.manual_seed(seed)
    aucs = []
    for fold in (0, 1):
        def part(pages, test):
            sel = [p for i, p in enumerate(pages) if (i % 2 == fold) == test and len(p)]
            return np.concatenate(sel) if sel else np.zeros((0, 1, 1), np.uint8)
        xs = {t: (part(real, t), part(synth, t)) for t in (False, True)}
        x_tr = np.concatenate(xs[False]).astype(np.float32)[:, None] / 255
        y_tr = np.r_[np.ones(len(xs[False][0])), np.zeros(len(xs[False][1]))].astype(np.float32)
        w = np.where(y_tr == 1, len(y_tr) / (2 * y_tr.sum()), len(y_tr) / (2 * (1 - y_tr).sum())).astype(np.float32)
        model = Disc()
        opt = torch.optim.Adam(model.parameters(), 2e-3)
        rng = np.random.default_rng(100 * seed + fold)
        for _ in range(12):
            model.train()
            for i in np.array_split(rng.permutation(len(y_tr)), max(1, len(y_tr) // 64)):
                xb = torch.from_numpy(x_tr[i])
                if rng.random() < 0.5:
                    xb = xb.flip(3)
                loss = (nn.functional.binary_cross_entropy_with_logits(model(xb), torch.from_numpy(y_tr[i]),
                                                                       reduction="none") * torch.from_numpy(w[i])).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        model.eval()
        x_te = np.concatenate(xs[True]).astype(np.float32)[:, None] / 255
        y_te = np.r_[np.ones(len(xs[True][0])), np.zeros(len(xs[True][1]))]
        with torch.no_grad():
            s = torch.cat([model(torch.from_numpy(x_te[i: i + 512])) for i in range(0, len(x_te), 512)]).numpy()
        aucs.append(auc(s, y_te))
    return float(np.mean(aucs))


def collect(images: list[np.ndarray], boxes: list[np.ndarray], seed: int) -> tuple[list, list, dict]:
    rng = np.random.default_rng(seed)
    stats: dict[str, list[float]] = {}
    pp, cc = [], []
    for g, b in zip(images, boxes):
        pp.append(patches(g, rng))
        cc.append(crops(g, b, rng))
        for k, v in layout(g, b).items():
            stats.setdefault(k, []).extend(v)
    return pp, cc, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--glyphs", default=str(REPO / "work/genji_align"),
                    help="real glyphs for the new style (`kuzushiji align` output on the training sides)")
    ap.add_argument("--plot", default=str(REPO / "docs/stats.png"))
    ap.add_argument("--repeats", type=int, default=3, help="discriminators trained per style (seeds); AUCs averaged")
    a = ap.parse_args()
    torch.set_num_threads(2)
    det = OnnxDetector(asset_path("detector.onnx"))
    real_imgs = [page_gray(p) for p in real_pages()]
    real_boxes = [det(g, 0.5) for g in real_imgs]
    styles = {"mixed fonts (before)": (PageConfig(height=H, hand=False, real_paper=0.0), ()),
              "one hand, real paper (after)": (PageConfig(height=H), ())}
    if Path(a.glyphs).is_dir():
        styles["one hand, real paper, real glyphs (after)"] = (PageConfig(height=H), (a.glyphs,))
    rp, rc, real_stats = collect(real_imgs, real_boxes, 0)
    results, stats = {}, {"real": real_stats}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (cfg, glyphs) in styles.items():
            out = Path(tmp) / str(len(results))
            generate_pages(out, a.pages, seed=7, workers=2, shared=SHARED, cfg=cfg, glyphs=glyphs)
            truth = dict(read_train_csv(out / "train.csv"))
            ids = sorted(truth)
            imgs = [load_image(out / "train_images" / f"{i}.jpg", "L") for i in ids]
            bxs = [np.array([[b.x, b.y, b.w, b.h] for b in truth[i]], np.float32).reshape(-1, 4) for i in ids]
            sp, sc, st = collect(imgs, bxs, 1)
            stats[name] = st
            results[name] = [(held_out_auc(rp, sp, k), held_out_auc(rc, sc, k)) for k in range(a.repeats)]
    print(f"real references: {len(real_imgs)} pages; synthetic: {a.pages} pages per style; AUC of a real-vs-synthetic "
          "CNN on held-out pages (0.5 = indistinguishable)\n")
    print(f"| synthetic style | page patches AUC | character crops AUC |  (mean ± sd over {a.repeats} discriminators)\n|---|---|---|")
    for name, r in results.items():
        pa, ca = np.array(r).T
        print(f"| {name} | {pa.mean():.3f} ± {pa.std():.3f} | {ca.mean():.3f} ± {ca.std():.3f} |")
    print("\n| statistic (median) | " + " | ".join(stats) + " |\n|---|" + "---|" * len(stats))
    for k, label in (("height", "character height / page height"), ("pitch", "column pitch / page height"),
                     ("per_column", "characters per column"), ("ink", "ink fraction")):
        print(f"| {label} | " + " | ".join(f"{np.median(s[k]):.3f}" if s.get(k) else "-" for s in stats.values()) + " |")
    plot(stats, a.plot)
    print(f"\n{a.plot}")


def plot(stats: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, (k, label, rng) in zip(axes, (("height", "character height / page height", (0, 0.12)),
                                          ("pitch", "column pitch / page height", (0, 0.12)),
                                          ("per_column", "characters per column", (0, 30)),
                                          ("ink", "ink fraction of the page", (0, 0.25)))):
        for name, s in stats.items():
            if s.get(k):
                ax.hist(s[k], bins=25, range=rng, density=True, histtype="step", linewidth=1.6, label=name)
        ax.set_title(label, fontsize=10)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
