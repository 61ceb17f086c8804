"""Language model effect on the Genji manuscript: text CER of `recognize` with no LM, the bigram over the
column texts, and the trigram, 4-gram and 5-gram over column texts + Genji, on a held-out block of sides.

    python bench/lm.py [--shared ../shared/data]

Weights are chosen on a validation block (sides 00026_1 .. 00029_2) with models built without that
block's text (V01 from character 7,000 on); the reported CER is on the held-out block 00030_1 .. 00033_2
with models built without its text (V01 from 8,400 on), which never chose anything.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

from align import block_cer

from kuzushiji.align import Aligner
from kuzushiji.predictor import Recognizer, asset_path

REPO = Path(__file__).resolve().parents[1]


def build(tmp: Path, name: str, *args: str) -> Path:
    out = tmp / f"{name}.npz"
    subprocess.run([sys.executable, str(REPO / "scripts/build_lm.py"), str(asset_path("classifier.onnx")), "-o", str(out),
                    *args], check=True, capture_output=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(REPO.parent / "shared/data"))
    a = ap.parse_args()
    S = Path(a.shared)
    lines = [r["text"] for r in csv.DictReader(open(S / "genji_transcription/genji_text_lines.csv", encoding="utf-8"))
             if r["vol"] == "V01"]
    sides = sorted((S / "codh_pages_unlabeled/images").glob("200010454_*.jpg"))
    val, held = sides[-16:-8], sides[-8:]
    align_rec = Recognizer(top_k=10, lm_weight=0.0)
    aligner = Aligner("\n".join(lines))
    spans = {p: aligner.align(align_rec.recognize(p)) for p in sides}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = {
            "bigram, column texts": ("--order", "2", "--no-genji"),
            "trigram, column texts + Genji": ("--order", "3"),
            "4-gram, column texts + Genji": ("--order", "4"),
            "5-gram, column texts + Genji": ("--order", "5"),
        }
        print(f"{'language model':<32} {'weight':>6} {'val CER':>8} {'held-out CER':>13}")
        base_val = block_cer(Recognizer(lm_weight=0.0), val, aligner.text, [spans[p] for p in val])[0]
        base_held = block_cer(Recognizer(lm_weight=0.0), held, aligner.text, [spans[p] for p in held])[0]
        print(f"{'none':<32} {'-':>6} {base_val:>8.3f} {base_held:>13.3f}")
        for name, args in models.items():
            val_lm = build(tmp, "val", *args, "--genji-heldout-from", "7000")
            scores = {w: block_cer(Recognizer(lm=val_lm, lm_weight=w), val, aligner.text, [spans[p] for p in val])[0]
                      for w in (0.25, 0.5, 1.0, 1.5)}
            w = min(scores, key=scores.get)
            final = build(tmp, "final", *args, "--weight", str(w))
            held_cer = block_cer(Recognizer(lm=final, lm_weight=w), held, aligner.text, [spans[p] for p in held])[0]
            print(f"{name:<32} {w:>6} {scores[w]:>8.3f} {held_cer:>13.3f}")


if __name__ == "__main__":
    main()
