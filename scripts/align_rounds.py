"""Training rounds on a manuscript whose text is known: align -> fine-tune the classifier on the aligned
real crops (+ synthetic crops) -> realign with the better classifier -> ...

    python scripts/align_rounds.py --rounds 3 [--init runs/cls_synth/last.pt] [--extra DIR ...] -o runs/rounds

    # a book model from the shipped recipe: both bundled classifiers fine-tuned on the manuscript each round,
    # aligned and read in the accurate mode, with a glyph memory of the round's labels (and the dev pages)
    python scripts/align_rounds.py --rounds 2 --init runs/pl_final/r6/cls_all/last.pt \
        --init2 runs/pl_final_l2/r3/cls_all/last.pt --synth work/crops_train_v2c \
        --extra ../shared/data/kuzushiji_pages_100241706 --extra-repeat 20 --accurate --memory -o runs/book

Round 0 aligns with the bundled models. Every step is skipped when its output exists, so the script
resumes. The last ``--held-out`` sides (a contiguous block) are never aligned for training; per round it
records the accepted labels, the text CER on the held-out block, classifier top-1 on the real dev crops
(pages never used for training unless given with --extra) and the 10-way accuracy on the real KMNIST grid.
With ``--memory`` the CERs are read with a glyph memory of the round's classifier holding the round's aligned
labels and the --extra pages, and in both modes (fast: one detector pass; accurate: three scales).
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
from kmnist import accuracy as kmnist_accuracy, grid as kmnist_grid  # noqa: E402

from kuzushiji.align import Aligner  # noqa: E402
from kuzushiji.datasets.crops import from_pages  # noqa: E402
from kuzushiji.datasets.pages import load_pages  # noqa: E402
from kuzushiji.inference.classifier import OnnxClassifier  # noqa: E402
from kuzushiji.predictor import Recognizer, asset_path  # noqa: E402

KZ = [sys.executable, "-m", "kuzushiji.cli"]


def sh(cmd: list[str], log: Path) -> None:
    print(" ".join(map(str, cmd)), flush=True)
    with open(log, "a") as f:
        subprocess.run(list(map(str, cmd)), check=True, stdout=f, stderr=subprocess.STDOUT)


def measure(cls_onnx: list[Path], det_onnx: Path, shared: Path, held: list[Path], text: str,
            train_sides: list[Path], memory: Path | None = None) -> dict:
    """Held-out block CER, dev-crop top-1, KMNIST 10-way of the (first) classifier (with the bundled LM);
    with a ``memory``, also the CERs of the fast and accurate modes reading with it."""
    align_rec = Recognizer(det_onnx, cls_onnx[0], top_k=10, lm_weight=0.0)
    aligner = Aligner(text)
    for p in train_sides:  # walk to the block, as the aligner would
        aligner.align(align_rec.recognize(p))
    spans = [aligner.align(align_rec.recognize(p)) for p in held]
    cer, _, _ = block_cer(Recognizer(det_onnx, cls_onnx[0]), held, aligner.text, spans)
    cer_nolm, _, _ = block_cer(Recognizer(det_onnx, cls_onnx[0], lm_weight=0.0), held, aligner.text, spans)
    modes = {}
    if memory is not None:
        for mode in ("fast", "accurate"):
            rec = Recognizer(det_onnx, cls_onnx, mode=mode, memory=memory)
            modes[f"held_out_cer_{mode}_memory"] = round(block_cer(rec, held, aligner.text, spans)[0], 4)
    clf = OnnxClassifier(cls_onnx[0])
    crops = from_pages(load_pages(shared / "kuzushiji_pages_100241706"), clf.size)
    top1 = float(np.mean(np.array(clf.codes)[clf.predict(crops.images).argmax(1)] == crops.codes))
    km = kmnist_accuracy([clf], *kmnist_grid(shared / "kmnist_official_example_grid/kmnist_examples_sliced.npz"))
    return {"held_out_cer": round(cer, 4), "held_out_cer_no_lm": round(cer_nolm, 4), **modes,
            "dev_crop_top1": round(top1, 4), "kmnist_10way": round(km, 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--out", default="runs/rounds")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--init", default="runs/cls_synth/last.pt", help="classifier checkpoint each round starts from")
    ap.add_argument("--synth", default="work/crops_train", help="synthetic crop arrays mixed into every round")
    ap.add_argument("--extra", action="append", default=[], help="more labelled page folders (e.g. the dev pages)")
    ap.add_argument("--extra-repeat", type=int, help="how many times the --extra pages count (default: --repeat)")
    ap.add_argument("--init2", help="a second classifier checkpoint, fine-tuned alongside; the rounds read with both")
    ap.add_argument("--accurate", action="store_true", help="align in the accurate mode (three detector scales)")
    ap.add_argument("--memory", action="store_true", help="also measure reading with a glyph memory of the labels")
    ap.add_argument("--repeat", type=int, default=8, help="how many times the aligned crops count")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--held-out", type=int, default=8)
    ap.add_argument("--shared", default=str(REPO.parent / "shared/data"))
    ap.add_argument("--detector", default=str(asset_path("detector.onnx")), help="detector ONNX used in every round")
    ap.add_argument("--classifier0", action="append", help="classifier ONNX of round 0 (default: the bundled "
                                                          "one, and classifier_2 with --init2); repeatable")
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
    inits = [a.init] + ([a.init2] if a.init2 else [])
    cls_onnx = [Path(c) for c in a.classifier0] if a.classifier0 else \
        [asset_path("classifier.onnx")] + ([asset_path("classifier_2.onnx")] if a.init2 else [])
    for r in range(a.rounds + 1):
        aligned = out / f"align_r{r}"
        if not (aligned / "train.csv").is_file():
            cmd = KZ + ["align", *train_sides, "--text", text_file, "-o", aligned, "--detector", a.detector, "--quiet"]
            sh(cmd + [x for c in cls_onnx for x in ("--classifier", c)] + (["--accurate"] if a.accurate else []), log)
        n = sum(len(row["labels"].split()) // 5 for row in csv.DictReader(open(aligned / "train.csv", encoding="utf-8")))
        memory = out / f"memory_r{r}.npz" if a.memory else None
        if memory is not None and not memory.is_file():
            sh(KZ + ["memory", aligned, *a.extra, "-o", memory, "--classifier", cls_onnx[0]], log)
        key = f"round {r}"
        if key not in results:
            results[key] = {"classifier": [str(c) for c in cls_onnx], "accepted": n,
                            **measure(cls_onnx, Path(a.detector), S, held, "\n".join(lines), train_sides, memory)}
            results_path.write_text(json.dumps(results, indent=1))
        print(key, results[key], flush=True)
        if r == a.rounds:
            break
        sources = [a.synth, str(aligned), *a.extra]
        repeats = [1, a.repeat] + [a.extra_repeat or a.repeat] * len(a.extra)
        procs, cls_onnx = [], []
        for i, init in enumerate(inits):  # the classifiers of a round train side by side, a thread each
            run = out / f"cls_r{r + 1}" if i == 0 else out / f"cls{i + 1}_r{r + 1}"
            cmd = KZ + ["train", "classifier", "--out", run, "--init", init, "--epochs", a.epochs, "--cap", 16,
                        "--min-per-class", 1, "--lr", 5e-4, "--batch", 128, "--seed", r + 1, "--resume",
                        "--threads", max(1, 2 // len(inits))]
            for src, k in zip(sources, repeats):
                cmd += ["--source", src, "--repeat", k]
            if not (run / "done").is_file():
                print(" ".join(map(str, cmd)), flush=True)
                procs.append((run, subprocess.Popen(list(map(str, cmd)), stdout=open(run.with_suffix(".log"), "a"),
                                                    stderr=subprocess.STDOUT)))
            cls_onnx.append(run.with_suffix(".onnx"))
        for run, proc in procs:
            if proc.wait() != 0:
                raise SystemExit(f"{run}: training failed (see {run.with_suffix('.log')})")
            (run / "done").write_text("ok\n")
        for c in cls_onnx:
            if not c.is_file():
                sh(KZ + ["export", "classifier", c.with_suffix("") / "last.pt", "-o", c], log)


if __name__ == "__main__":
    main()
