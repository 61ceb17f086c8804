"""10-way accuracy on real KMNIST glyphs (the official example grid in shared: 150 glyphs, 15 per class) with
classifiers that never saw KMNIST: class probabilities read as the 10 KMNIST kana (`OnnxClassifier.read_as`:
each class counts toward the kana it reads as, a 字母 kanji at half weight, since each KMNIST class "includes
hentaigana variants"), averaged over the classifiers, optionally times a glyph memory's vote
(exp(beta * similarity), as in recognition; the memory holds no KMNIST glyph) and with its hand head's share
mixed into each classifier's probabilities (as in recognition).

    python bench/kmnist.py                                   # the bundled classifiers, with and without memory
    python bench/kmnist.py --classifier a.onnx [--classifier b.onnx] [--memory m.npz]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from kuzushiji.inference.classifier import OnnxClassifier, softmax
from kuzushiji.io.arrays import KMNIST_CODES, load_glyph_arrays
from kuzushiji.memory import GlyphMemory
from kuzushiji.predictor import MODES, asset_path
from kuzushiji.vocab import JIBO_WEIGHT

GRID = Path(__file__).resolve().parents[2] / "shared/data/kmnist_official_example_grid/kmnist_examples_sliced.npz"


def grid(path: str | Path = GRID) -> tuple[np.ndarray, np.ndarray]:
    """The real KMNIST glyphs (white on black, 28 px) and their 0-9 labels."""
    images, _ = load_glyph_arrays(path, None, "images")
    return images, np.load(path)["labels"]


def outputs(classifiers: list[OnnxClassifier], images: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Each classifier's logits and unit features of the glyphs (white on black, read as dark ink on white)."""
    out = []
    for c in classifiers:
        crops = np.stack([cv2.resize(255 - i, (c.size, c.size), interpolation=cv2.INTER_AREA) for i in images])
        out.append(c.run(crops))
    return out


def accuracy(classifiers: list[OnnxClassifier], images: np.ndarray, labels: np.ndarray,
             memory: GlyphMemory | None = None, beta: float = MODES["fast"]["memory_weight"],
             jibo_weight: float = JIBO_WEIGHT, head_weight: float = 0.0, runs: list | None = None,
             scope: str = "all") -> float:
    """10-way accuracy of the averaged (and memory-weighted) restricted probabilities; ``head_weight``: the
    memory's hand head's share of each classifier's probabilities. ``runs``: :func:`outputs` computed before."""
    first = classifiers[0]
    cols = [first.codes.index(c) for c in KMNIST_CODES]
    runs = runs if runs is not None else outputs(classifiers, images)
    features = runs[0][1]
    head = memory.head_probs(features) if head_weight and memory is not None and memory.head is not None else None
    column = {code: j for j, code in enumerate(first.codes)}
    probs = []
    for c, (z, _) in zip(classifiers, runs):
        p = softmax(z)
        if head is not None:
            order = [column[code] for code in c.codes]
            p = memory.mix_head(p[:, np.argsort(order)], head, head_weight, scope == "known")[:, order]
        probs.append(c.read_as(p, KMNIST_CODES, jibo_weight))
    p = np.mean(probs, 0)
    if memory is not None and features is not None:
        p = p * np.exp(beta * memory.similarity(features, "typical" if scope == "known" else "zero")[:, cols])
    return float(np.mean(p.argmax(1) == labels))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--classifier", action="append", help="classifier ONNX (repeat: ensemble); default: bundled pair")
    ap.add_argument("--memory", help="glyph memory of the first classifier (default with the bundled pair: bundled)")
    ap.add_argument("--grid", default=str(GRID))
    ap.add_argument("--jibo-weight", type=float, default=JIBO_WEIGHT, help="what a 字母 kanji counts toward its kana")
    a = ap.parse_args()
    paths = a.classifier or [asset_path("classifier.onnx"), asset_path("classifier_2.onnx")]
    memory = a.memory or (None if a.classifier else asset_path("memory.npz"))
    clfs = [OnnxClassifier(p) for p in paths]
    images, labels = grid(a.grid)
    mem = GlyphMemory.load(memory) if memory else None
    if mem is not None:
        mem.check(clfs[0], memory)
    print(f"| classifiers | memory | KMNIST 10-way ({len(labels)} glyphs) |\n|---|---|---|")
    rows = [(f"{Path(p).name}", [c], None) for p, c in zip(paths, clfs)]
    rows += [(" + ".join(Path(p).name for p in paths), clfs, None)] if len(clfs) > 1 else []
    rows += [(" + ".join(Path(p).name for p in paths), clfs, mem)] if mem is not None else []
    shares = [0.0] + ([MODES["fast"]["head_weight"]] if mem is not None and mem.head is not None else [])
    for (name, cs, m), share in ((r, s) for r in rows for s in (shares if r[2] is not None else [0.0])):
        acc = accuracy(cs, images, labels, m, jibo_weight=a.jibo_weight, head_weight=share)
        used = f"{Path(memory).name}" + (f", head {share:g}" if share else "") if m is not None else "-"
        print(f"| {name} | {used} | {acc:.3f} |")


if __name__ == "__main__":
    main()
