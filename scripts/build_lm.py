"""Build the bigram language model over the classifier's classes from real transcriptions.

Lines sharing any 8-gram with the dev book 100241706 (whose pages we evaluate on) are dropped,
so the model has never seen the evaluation text.

usage: python scripts/build_lm.py CLASSIFIER.onnx -o src/kuzushiji/assets/lm.npz [--weight W]
"""
import argparse
from pathlib import Path

from kuzushiji.inference.classifier import OnnxClassifier
from kuzushiji.language_model import BigramLM, filter_lines
from kuzushiji.synth.text import default_text_files

p = argparse.ArgumentParser()
p.add_argument("classifier")
p.add_argument("-o", "--output", required=True)
p.add_argument("--shared", default="../shared/data")
p.add_argument("--weight", type=float, default=0.5)
a = p.parse_args()
shared = Path(a.shared)
lines = []
for f in default_text_files(shared):
    if "100241706" not in f.name:
        lines += [l.strip() for l in f.read_text(encoding="utf-8").splitlines() if l.strip()]
dev = (shared / "codh_coordinates_text_only/100241706_columns.txt").read_text(encoding="utf-8").split()
kept = filter_lines(lines, dev)
lm = BigramLM.fit(OnnxClassifier(a.classifier).codes, kept)
lm.weight = a.weight
lm.save(a.output)
print(f"{len(kept)} of {len(lines)} lines kept (dev-book lines removed); {len(lm.codes)} codes -> {a.output}")
