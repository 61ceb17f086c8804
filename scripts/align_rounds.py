"""Training rounds on a manuscript whose text is known: align -> fine-tune the classifier on the aligned
real crops (+ synthetic crops) -> realign with the better classifier -> ...

    python scripts/align_rounds.py --rounds 3 [--init runs/cls_synth/last.pt] [--extra DIR ...] -o runs/rounds

Round 0 aligns with the bundled models. Every step is skipped when its output exists, so the script
resumes. The last ``--held-out`` sides (a contiguous block) are never aligned for training; per round it
records the accepted labels, the text CER on the held-out block, classifier top-1 on the real dev crops
(pages never used for training unless given with --extra) and the 10-way accuracy on the real KMNIST grid.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from align import block_cer  # noqa: E402

from kuzushiji.align import Aligner  # noqa: E402
from kuzushiji.datasets.crops import from_pages  # noqa: E402
from kuzushiji.datasets.pages import load_pages  # noqa: E402
from kuzushiji.inference.classifier import OnnxClassifier  # noqa: E402
from kuzushiji.io.arrays import KMNIST_CODES, load_glyph_arrays  # noqa: E402
from kuzushiji.predictor import Recognizer, asset_path  # noqa: E402

KZ = [sys.executable, "-m", "kuzushiji.cli"]


def sh(cmd: list[str], log: Path) -> None:
    print(" ".join(map(str, cmd)), flush=True)
    with open(log, "a") as f:
        subprocess.run(list(map(str, cmd)), check=True, stdout=f, stderr=subprocess.STDOUT)


def measure(cls_onnx: Path, det_onnx: Path, shared: Path, held: list[Path], text: str, train_sides: list[Path]) -> dict:
    """Held-out block CER, dev-crop top-1, KMNIST 10-way of one classifier (with the bundled LM)."""
    align_rec = Recognizer(det_onnx, cls_onnx, top_k=10, lm_weight=0.0)
    aligner = Aligner(text)
    for p in train_sides:  # walk to the block, as the aligner would
        aligner.align(align_rec.recognize(p))
    spans = [aligner.align(align_rec.recognize(p)) for p in held]
    cer, _, _ = block_cer(Recognizer(det_onnx, cls_onnx), held, aligner.text, spans)
    cer_nolm, _, _ = block_cer(Recognizer(det_onnx, cls_onnx, lm_weight=0.0), held, aligner.text, spans)
    clf = OnnxClassifier(cls_onnx)
    crops = from_pages(load_pages(shared / "kuzushiji_pages_100241706"), clf.size)
    top1 = float(np.mean(np.array(clf.codes)[clf.predict(crops.images).argmax(1)] == crops.codes))
    x, y = load_glyph_arrays(shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz", None, "images")
    y = np.load(shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz")["labels"]
    import cv2

    g = np.stack([cv2.resize(255 - i, (clf.size, clf.size), interpolation=cv2.INTER_AREA) for i in x])
    km = float(np.mean(np.array(clf.codes)[clf.predict(g, KMNIST_CODES).argmax(1)] == np.array(KMNIST_CODES)[y]))
    return {"held_out_cer": round(cer, 4), "held_out_cer_no_lm": round(cer_nolm, 4), "dev_crop_top1": round(top1, 4),
            "kmnist_10way": round(km, 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--out", default="runs/rounds")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--init", default="runs/cls_synth/last.pt", help="classifier checkpoint each round starts from")
    ap.add_argument("--synth", default="work/crops_train", help="synthetic crop arrays mixed into every round")
    ap.add_argument("--extra", action="append", default=[], help="more labelled page folders (e.g. the dev pages)")
    ap.add_argument("--repeat", type=int, default=8, help="how many times the aligned crops count")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--held-out", type=int, default=8)
    ap.add_argument("--shared", default=str(REPO.parent / "shared/data"))
    ap.add_argument("--detector", default=str(asset_path("detector.onnx")), help="detector ONNX used in every round")
    ap.add_argument("--classifier0", default=str(asset_path("classifier.onnx")), help="classifier ONNX of round 0")
    a = ap.parse_args()
    out, S = Path(a.out), Path(a.shared)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "rounds.log"
    sides = sorted((S / "codh_pages_unlabeled/images").glob("200010454_*.jpg"))
    train_sides, held = sides[: -a.held_out], sides[-a.held_out:]
    lines = [r["text"] for r in csv.DictReader(open(S / "genji_transcription/genji_text_lines.csv", encoding="utf-8"))
             if r["vol"] == "V01"]
    text_file = out / "v01.txt"
    text_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results_path = out / "rounds.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    cls_onnx = Path(a.classifier0)
    for r in range(a.rounds + 1):
        aligned = out / f"align_r{r}"
        if not (aligned / "train.csv").is_file():
            sh(KZ + ["align", *train_sides, "--text", text_file, "-o", aligned, "--classifier", cls_onnx,
                     "--detector", a.detector, "--quiet"], log)
        n = sum(len(row["labels"].split()) // 5 for row in csv.DictReader(open(aligned / "train.csv", encoding="utf-8")))
        key = f"round {r}"
        if key not in results:
            results[key] = {"classifier": str(cls_onnx), "accepted": n,
                            **measure(cls_onnx, Path(a.detector), S, held, "\n".join(lines), train_sides)}
            results_path.write_text(json.dumps(results, indent=1))
        print(key, results[key], flush=True)
        if r == a.rounds:
            break
        run = out / f"cls_r{r + 1}"
        sources = [a.synth, str(aligned), *a.extra]
        repeats = [1, a.repeat] + [a.repeat] * len(a.extra)
        cmd = KZ + ["train", "classifier", "--out", run, "--init", a.init, "--epochs", a.epochs, "--cap", 16,
                    "--min-per-class", 1, "--lr", 5e-4, "--batch", 128, "--seed", r + 1, "--resume"]
        for s, k in zip(sources, repeats):
            cmd += ["--source", s, "--repeat", k]
        if not (run / "done").is_file():
            sh(cmd, log)
            (run / "done").write_text("ok\n")
        cls_onnx = out / f"cls_r{r + 1}.onnx"
        if not cls_onnx.is_file():
            sh(KZ + ["export", "classifier", run / "last.pt", "-o", cls_onnx], log)


if __name__ == "__main__":
    main()
