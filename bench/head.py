"""The hand head's settings, chosen on the Genji validation block (sides 00026_1 .. 00029_2, the 8 before the
held-out block; ``bench/align.py --validation``) and checked on KMNIST: text CER of both modes for each fit
(epochs x label smoothing), head share and memory vote, with a glyph memory that leaves the block out.

    kuzushiji memory ../shared/data/kuzushiji_pages_100241706 work/genji_noval -o work/memory_noval.npz --no-head
    python bench/head.py --memory work/memory_noval.npz [--kmnist-memory work/memory_new.npz]

(work/genji_noval: ``kuzushiji align --accurate`` of the 55 training sides, ``train.csv`` without 0002[6-9].) Each
side is detected and classified once per mode; only the mixing, the memory vote, the language model, the filter and
reading order run per setting. Prints a table: CER fast / accurate (strict, after reading normalisation) and KMNIST.
"""
from __future__ import annotations

import argparse
from itertools import product
from pathlib import Path

import numpy as np
from align import block_reference, walk_manuscript
from kmnist import accuracy, grid

from kuzushiji.cer import edit_distance, reading
from kuzushiji.inference.classifier import OnnxClassifier
from kuzushiji.io.image import read_page
from kuzushiji.memory import GlyphMemory
from kuzushiji.predictor import Recognizer, asset_path


def validation_block(S: Path, memory: str | Path, held_out: int = 8):
    """Reads the validation block once per mode; returns ``(cer, block, n_ref)``, ``cer(memory, share, beta)`` the
    strict CER of each mode with that glyph memory (and its head), head share and memory vote."""
    walker = Recognizer(top_k=10, lm_weight=0.0, fp_filter=False, head_weight=0.0)  # as bench/align.py walks
    aligner, _, block, spans = walk_manuscript(S, walker, held_out, validation=True)
    ref = block_reference(aligner.text, spans)
    recs, cache = {}, {}
    for mode in ("fast", "accurate"):
        recs[mode] = rec = Recognizer(mode=mode, memory=memory)
        for p in block:
            _, gray = read_page(p)
            det = rec.detect(gray)
            cache[mode, p.stem] = (gray.shape, det, *(rec.read_crops(gray, det) if len(det) else (None, None)))

    def cer(mem: GlyphMemory, share: float, beta: float) -> dict[str, float]:
        out = {}
        for mode, rec in recs.items():
            rec.memory, rec.head_weight, rec.memory_weight = mem, share, beta
            text = ""
            for p in block:
                (h, w), det, member_probs, features = cache[mode, p.stem]
                probs, evidence = rec.combine(member_probs, features) if len(det) else \
                    (np.zeros((0, len(rec.classifier.codes)), np.float32), None)
                text += rec.assemble(p.stem, w, h, det, probs, evidence=evidence).text.replace("\n", "")
            out[mode] = edit_distance(reading(text), ref) / len(ref)
        return out

    return cer, block, len(ref)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--memory", required=True, help="glyph memory (of the bundled classifier) without the block")
    ap.add_argument("--kmnist-memory", help="the memory whose head KMNIST is read with (default: --memory)")
    ap.add_argument("--epochs", type=int, nargs="+", default=[20, 60, 150])
    ap.add_argument("--smoothing", type=float, nargs="+", default=[0.0, 0.1, 0.2])
    ap.add_argument("--share", type=float, nargs="+", default=[0.2, 0.4])
    ap.add_argument("--memory-weight", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    ap.add_argument("--plot", help="PNG: CER and KMNIST against the head share (one fit and vote: the first of each)")
    a = ap.parse_args()
    cer, block, n_ref = validation_block(Path(a.shared), a.memory)
    base = GlyphMemory.load(a.memory)
    kmem = GlyphMemory.load(a.kmnist_memory) if a.kmnist_memory else base
    clfs = [OnnxClassifier(asset_path("classifier.onnx")), OnnxClassifier(asset_path("classifier_2.onnx"))]
    images, labels = grid()
    print(f"validation block {block[0].stem} .. {block[-1].stem}, {n_ref} reference characters; "
          f"memory {a.memory} ({len(base)} glyphs)\n")
    print("| epochs | smoothing | head share | memory vote | CER fast | CER accurate | KMNIST 10-way |\n"
          "|---|---|---|---|---|---|---|")
    rows = []
    for epochs, smoothing in product(a.epochs, a.smoothing):
        mem = base.with_head(epochs=epochs, smoothing=smoothing)
        km = kmem.with_head(epochs=epochs, smoothing=smoothing) if a.kmnist_memory else mem
        for share, beta in product(a.share, a.memory_weight):
            c = cer(mem, share, beta)
            k = accuracy(clfs, images, labels, km, beta=beta, head_weight=share)
            rows.append((epochs, smoothing, share, beta, c["fast"], c["accurate"], k))
            print(f"| {epochs} | {smoothing:g} | {share:g} | {beta:g} | {c['fast']:.3f} | {c['accurate']:.3f} | "
                  f"{k:.3f} |", flush=True)

    if a.plot:
        plot([r[2:] for r in rows if r[:2] == (a.epochs[0], a.smoothing[0]) and r[3] == a.memory_weight[0]], a.plot,
             f"{block[0].stem} .. {block[-1].stem}")


def plot(rows: list[tuple], path: str, block: str) -> None:
    """CER of both modes and KMNIST accuracy against the head share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    share = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    ax.plot(share, [r[2] for r in rows], "o-", label="Genji CER, fast")
    ax.plot(share, [r[3] for r in rows], "s-", label="Genji CER, accurate")
    ax.set_xlabel("hand head's share of each classifier's probabilities (head_weight)")
    ax.set_ylabel("validation CER (8 Genji sides)")
    ax.set_title(f"validation block {block}", fontsize=9)
    k = ax.twinx()
    k.plot(share, [r[4] for r in rows], "^--", color="tab:green", label="KMNIST 10-way (right)")
    k.set_ylabel("KMNIST 10-way accuracy")
    lines = ax.get_lines() + k.get_lines()
    ax.legend(lines, [x.get_label() for x in lines], fontsize=8, loc="upper center")
    ax.axvline(0.2, color="grey", lw=0.8, ls=":")
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    main()
