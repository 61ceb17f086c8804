"""Build the character language model over the classifier's classes from real transcriptions.

Text: the column transcriptions in shared/ (except the dev book's) and the whole Genji transcription.
Held out, with every line sharing an 8-gram with them: the dev book 100241706 (whose pages we evaluate
on) and the Genji V01 text from ``--genji-heldout-from`` (normalized characters) on, which covers the
held-out manuscript sides 200010454_00030_1 .. 00033_2.

usage: python scripts/build_lm.py CLASSIFIER.onnx -o src/kuzushiji/assets/lm.npz [--order 3] [--weight W]
"""
import argparse
import csv
from pathlib import Path

from kuzushiji.align import normalize_text
from kuzushiji.inference.classifier import OnnxClassifier
from kuzushiji.language_model import NgramLM, filter_lines
from kuzushiji.synth.text import default_text_files

p = argparse.ArgumentParser()
p.add_argument("classifier")
p.add_argument("-o", "--output", required=True)
p.add_argument("--shared", default="../shared/data")
p.add_argument("--order", type=int, default=3, choices=(2, 3, 4, 5))
p.add_argument("--weight", type=float, default=0.5)
p.add_argument("--no-genji", action="store_true")
p.add_argument("--genji-heldout-from", type=int, default=8400)
a = p.parse_args()
shared = Path(a.shared)
lines = []
for f in default_text_files(shared):
    if "100241706" not in f.name:
        lines += [l.strip() for l in f.read_text(encoding="utf-8").splitlines() if l.strip()]
held = (shared / "codh_coordinates_text_only/100241706_columns.txt").read_text(encoding="utf-8").split()
genji = shared / "genji_transcription/genji_text_lines.csv"
if genji.is_file() and not a.no_genji:
    pos = 0
    for r in csv.DictReader(open(genji, encoding="utf-8")):
        t = normalize_text(r["text"])
        if r["vol"] == "V01" and pos >= a.genji_heldout_from:
            held.append(t)
        else:
            lines.append(t)
        pos += len(t) if r["vol"] == "V01" else 0
kept = filter_lines(lines, held)
lm = NgramLM.fit(OnnxClassifier(a.classifier).codes, kept, order=a.order)
lm.weight = a.weight
lm.save(a.output)
print(f"{len(kept)} of {len(lines)} lines kept ({len(held)} held-out lines and their 8-gram neighbours removed); "
      f"order {a.order}, {len(lm.codes)} codes -> {a.output}")
