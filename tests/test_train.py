"""Training loops end to end on tiny data: checkpoints, resume, export, torchrun with gloo."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kuzushiji.cli import main
from kuzushiji.synth.page import PageConfig
from kuzushiji.synth.writer import generate_crops, generate_pages


@pytest.fixture(scope="module")
def tiny_pages(tmp_path_factory, shared=Path(__file__).resolve().parents[1].parent / "shared" / "data"):
    if not shared.is_dir():
        pytest.skip("../shared/data not present")
    out = tmp_path_factory.mktemp("pages")
    try:
        generate_pages(out, 4, seed=3, workers=1, shared=shared, cfg=PageConfig(height=400))
    except RuntimeError:
        pytest.skip("synthesis fonts not installed")
    return out


def test_detector_train_resume_export(tiny_pages, tmp_path):
    run = tmp_path / "det"
    args = ["train", "detector", "--data", str(tiny_pages), "--val", str(tiny_pages), "--out", str(run),
            "--height", "256", "--crop", "128", "--batch", "2", "--iters", "2", "--threads", "1"]
    assert main(args + ["--epochs", "1"]) == 0
    assert (run / "last.pt").is_file() and (run / "curves.png").is_file()
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    hist = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in hist] == [1, 2] and "val_f1" in hist[0]
    assert main(["export", "detector", str(run / "best.pt"), "-o", str(tmp_path / "d.onnx")]) == 0
    from kuzushiji.inference.detector import OnnxDetector

    det = OnnxDetector(tmp_path / "d.onnx")
    assert det.height == 256
    assert det(np.full((400, 260), 220, np.uint8)).shape[1] == 5


def _crops(folder: Path, size: int) -> list[str]:
    """Six synthetic crops of each of four classes in ``folder``; their codes."""
    codes = ["U+3042", "U+3044", "U+306E", "U+5C71"]
    try:
        generate_crops(folder, codes, per_class=6, size=size, workers=1)
    except RuntimeError:
        pytest.skip("synthesis fonts not installed")
    return codes


def test_classifier_train_report_export(tmp_path, tiny_pages):
    codes = _crops(tmp_path / "crops", 32)
    run = tmp_path / "cls"
    assert main(["train", "classifier", "--source", str(tmp_path / "crops"), "--val", str(tmp_path / "crops"),
                 "--out", str(run), "--size", "32", "--epochs", "1", "--batch", "8", "--threads", "1",
                 "--mixup", "0.2"]) == 0
    rep = json.loads((run / "report.json").read_text())
    assert rep["classes"] == 4 and rep["val"]["crops"]["n"] == 24
    for png in ["curves.png", "class_frequency.png", "recall_crops.png"]:
        assert (run / png).is_file()
    assert main(["export", "classifier", str(run / "best.pt"), "-o", str(tmp_path / "c.onnx")]) == 0
    from kuzushiji.inference.classifier import OnnxClassifier

    clf = OnnxClassifier(tmp_path / "c.onnx")
    assert set(clf.codes) == set(codes)
    p = clf.predict(np.load(tmp_path / "crops/images.npy")[:3], restrict=["U+3042", "U+3044"])
    assert np.allclose(p.sum(1), 1) and np.all(p[:, [clf.codes.index("U+306E"), clf.codes.index("U+5C71")]] == 0)


def test_torchrun_two_processes_gloo(tiny_pages, tmp_path):
    torchrun = Path(sys.executable).parent / "torchrun"
    kz = Path(sys.executable).parent / "kuzushiji"
    if not torchrun.exists() or not kz.exists():
        pytest.skip("torchrun / kuzushiji entry point not installed")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([str(torchrun), "--nproc_per_node=2", "--no-python", str(kz), "train", "detector",
                        "--data", str(tiny_pages), "--out", str(tmp_path / "ddp"), "--height", "256", "--crop", "128",
                        "--batch", "2", "--iters", "2", "--epochs", "1", "--threads", "1"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "ddp" / "last.pt").is_file()


def test_lowres_augmentation_blurs_and_keeps_old_recipes():
    """``lowres`` copies lose fine detail (as 28 px KMNIST glyphs do); at 0 the random stream is the old one."""
    import cv2

    from kuzushiji.datasets.augment import augment_crop

    img = np.full((48, 48), 230, np.uint8)
    img[::4] = 40  # one-pixel strokes: only a sharp copy keeps them
    sharp = [cv2.Laplacian(augment_crop(img, np.random.default_rng(i), 0.0), cv2.CV_32F).var() for i in range(20)]
    low = [cv2.Laplacian(augment_crop(img, np.random.default_rng(i), 0.0, lowres=1.0), cv2.CV_32F).var()
           for i in range(20)]
    assert np.median(low) < 0.5 * np.median(sharp)
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    assert np.array_equal(augment_crop(img, a), augment_crop(img, b, lowres=0.0)) and a.random() == b.random()


def test_detector_background_weight_per_source():
    """Pages with right but incomplete boxes (an alignment's detector/ folder) can count their background less:
    the sampler tags each crop with its set's weight and the focal loss scales only the background term."""
    import torch

    from kuzushiji.datasets.detection import DetectionSampler, MemPage
    from kuzushiji.train.detector import focal_loss

    page = MemPage("p", np.full((400, 300), 200, np.uint8), np.array([[100.0, 100, 40, 40]], np.float32), 1.0)
    sampler = DetectionSampler([[page], [page]], [1.0, 1.0], crop=128, seed=0, neg_weights=[1.0, 0.25])
    assert set(sampler.batch(16)[-1].tolist()) == {1.0, 0.25}
    short = DetectionSampler([[page], [page]], [1.0, 1.0], crop=128, seed=0, neg_weights=[0.25])  # the rest: 1
    assert set(short.batch(16)[-1].tolist()) == {1.0, 0.25}
    logits, target = torch.randn(2, 1, 8, 8), torch.zeros(2, 1, 8, 8)
    target[:, 0, 3, 3] = 1.0
    full = focal_loss(logits, target)
    assert torch.isclose(focal_loss(logits, target, torch.ones(2)), full)
    pos_only = focal_loss(logits, target, torch.zeros(2))
    assert pos_only < full and torch.isclose(focal_loss(logits, target, torch.full((2,), 0.5)), (full + pos_only) / 2)


def test_fine_tune_the_bundled_models(tmp_path, tiny_pages, capsys):
    """`--init bundled`: the shipped classifier and detector, rebuilt from their ONNX, start where they are (an
    export after a step at a vanishing learning rate reads as the bundle reads) and fine-tune; a missing
    checkpoint is one line, before any data is read."""
    from kuzushiji.inference.classifier import OnnxClassifier
    from kuzushiji.predictor import asset_path

    _crops(tmp_path / "crops", 48)
    run = tmp_path / "ft"
    assert main(["train", "classifier", "--source", str(tmp_path / "crops"), "--out", str(run), "--size", "48",
                 "--epochs", "1", "--batch", "8", "--threads", "1", "--lr", "1e-9", "--init", "bundled"]) == 0
    assert main(["export", "classifier", str(run / "best.pt"), "-o", str(tmp_path / "ft.onnx")]) == 0
    crops = np.load(tmp_path / "crops/images.npy")
    mine, bundled = OnnxClassifier(tmp_path / "ft.onnx"), OnnxClassifier(asset_path("classifier.onnx"))
    assert mine.codes == bundled.codes
    assert np.abs(mine.predict(crops) - bundled.predict(crops)).max() < 1e-3
    assert main(["train", "detector", "--data", str(tiny_pages), "--out", str(tmp_path / "det"), "--height", "256",
                 "--crop", "128", "--batch", "2", "--iters", "1", "--epochs", "1", "--threads", "1",
                 "--init", "bundled"]) == 0
    capsys.readouterr()
    assert main(["train", "classifier", "--source", str(tmp_path / "crops"), "--out", str(tmp_path / "x"),
                 "--init", "runs/cls/best.pt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "runs/cls/best.pt: checkpoint not found" in err[0]
