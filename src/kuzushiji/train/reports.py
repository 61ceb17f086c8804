"""Classifier reports: numbers as JSON, and PNGs (class frequencies with the cutoff, the most
confused pairs as an image grid, per-class recall)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..datasets.crops import CropSet
from ..utils.fonts import overlay_font_path
from ..vocab import code_to_char
from .common import load_model, pick_device
from .scoring import accuracy_report, predict_logits, to_labels


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def frequency_plot(counts: dict[str, int], n_classes: int, path: Path) -> None:
    plt = _plt()
    v = sorted(counts.values(), reverse=True)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.semilogy(np.arange(1, len(v) + 1), v)
    ax.axvline(n_classes, color="r", ls="--", label=f"cutoff: {n_classes} classes")
    ax.set_xlabel("class rank")
    ax.set_ylabel("training crops")
    ax.set_title("class frequencies")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def confusion_grid(images: np.ndarray, true: list[str], pred: list[str], path: Path, top: int = 50) -> list[dict]:
    """The ``top`` most frequent (true, predicted) error pairs: one row each with an example crop."""
    pairs = Counter((t, p) for t, p in zip(true, pred) if t != p)
    rows = pairs.most_common(top)
    if not rows:
        return []
    cell = 56
    font_path = overlay_font_path()
    font = ImageFont.truetype(str(font_path), 22) if font_path else ImageFont.load_default()
    cols = 2
    per_col = (len(rows) + cols - 1) // cols
    W = cols * (cell + 210)
    im = Image.new("RGB", (W, per_col * cell + 4), "white")
    d = ImageDraw.Draw(im)
    for i, ((t, p), n) in enumerate(rows):
        ex = next(j for j, (a, b) in enumerate(zip(true, pred)) if a == t and b == p)
        x0, y0 = (i // per_col) * (cell + 210), (i % per_col) * cell + 2
        crop = Image.fromarray(images[ex]).resize((cell - 4, cell - 4))
        im.paste(crop.convert("RGB"), (x0 + 2, y0))
        label = f"{code_to_char(t) if t.startswith('U+') else t}→{code_to_char(p) if p.startswith('U+') else p} ×{n}"
        d.text((x0 + cell + 6, y0 + 14), label, fill="black", font=font)
    im.save(path)
    return [{"true": t, "pred": p, "count": n} for (t, p), n in rows]


def recall_plot(per_class: dict[str, float], path: Path) -> None:
    plt = _plt()
    v = np.array(list(per_class.values()))
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(v, bins=20, range=(0, 1))
    ax.set_xlabel("per-class recall")
    ax.set_ylabel("classes")
    ax.set_title(f"per-class recall ({len(v)} classes present)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def classifier_report(run: Path, vals: dict[str, CropSet], cfg) -> dict:
    model, ck = load_model(run / "best.pt")
    device = pick_device(cfg.device)
    model.to(device)
    classes = ck["codes"]
    frequency_plot(ck["train_counts"], len(classes), run / "class_frequency.png")
    report = {"classes": len(classes), "epoch": ck["epoch"] + 1, "val": {}}
    for name, v in vals.items():
        logits = predict_logits(model, v.images, device, cfg.precision)
        labels = to_labels(v.codes, classes)
        r = accuracy_report(logits, labels, classes)
        pred = [classes[k] for k in logits.argmax(1)]
        per_class = {}
        for c in sorted(set(v.codes.tolist())):
            m = v.codes == c
            per_class[c] = float(np.mean([p == c for p, mm in zip(pred, m) if mm]))
        recall_plot(per_class, run / f"recall_{name}.png")
        r["confused"] = confusion_grid(v.images, v.codes.tolist(), pred, run / f"confused_{name}.png")
        r["per_class_recall"] = per_class
        report["val"][name] = r
    (run / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return report
