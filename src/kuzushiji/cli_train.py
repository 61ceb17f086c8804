"""Training and export commands (need the ``train`` extra), and inference commands."""
from __future__ import annotations

import argparse


def cmd_train_detector(a: argparse.Namespace) -> int:
    from .train.detector import DetectorConfig, train_detector

    cfg = DetectorConfig(data=a.data, weights=a.weight or [], neg_weights=a.neg_weight or [], val=a.val or [],
                         out=a.out, model=a.model, height=a.height, crop=a.crop, batch=a.batch, epochs=a.epochs,
                         iters=a.iters, lr=a.lr, seed=a.seed, precision=a.precision, device=a.device, init=a.init,
                         resume=a.resume, max_pages=a.max_pages, threads=a.threads)
    best = train_detector(cfg)
    print(f"best checkpoint: {best}; curves: {cfg.out}/curves.png")
    return 0


def cmd_train_classifier(a: argparse.Namespace) -> int:
    from .train.classifier import ClassifierConfig, train_classifier

    cfg = ClassifierConfig(sources=a.source, repeat=a.repeat or [], val=a.val or [], out=a.out, model=a.model,
                           size=a.size, classes=a.classes, top=a.top, rare=a.rare, cap=a.cap,
                           min_per_class=a.min_per_class, mixup=a.mixup, l2_softmax=a.l2_softmax, augment=a.augment,
                           lowres=a.lowres, batch=a.batch, epochs=a.epochs, lr=a.lr, seed=a.seed,
                           precision=a.precision, device=a.device, init=a.init, resume=a.resume, threads=a.threads)
    best = train_classifier(cfg)
    print(f"best checkpoint: {best}; reports: {cfg.out}/report.json, {cfg.out}/*.png")
    return 0


def cmd_train_columns(a: argparse.Namespace) -> int:
    from .train.columns import ColumnConfig, train_columns

    cfg = ColumnConfig(sources=a.source, repeat=a.repeat or [], val=a.val or [], out=a.out, model=a.model,
                       batch=a.batch, epochs=a.epochs, lr=a.lr, seed=a.seed, precision=a.precision, device=a.device,
                       resume=a.resume, init=a.init, shape_aug=a.shape_aug, threads=a.threads)
    best = train_columns(cfg)
    print(f"best checkpoint: {best}; curves: {cfg.out}/curves.png")
    return 0


def cmd_prepare_columns(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .datasets.columns import ColumnSet, from_alignment, from_pages
    from .datasets.pages import load_pages
    from .errors import DataError
    from .inference.classifier import OnnxClassifier
    from .io.text import read_text
    from .predictor import bundled_asset

    codes = OnnxClassifier(a.classifier or bundled_asset("classifier.onnx")).codes
    sets = [from_pages(load_pages(d, check_sizes=False), codes) for d in a.pages or []]
    if a.aligned:
        if not a.text or not a.images:
            raise DataError(a.aligned, "--aligned needs --text (the transcription) and --images (the page images)")
        sets.append(from_alignment(a.aligned, read_text(a.text), a.images, codes))
    if not sets:
        raise DataError(a.output, "give --pages and/or --aligned")
    out = ColumnSet.concat(sets)
    if Path(a.output).exists():
        raise DataError(a.output, "exists; choose a new name")
    out.save(a.output)
    print(f"{len(out)} column strips with {sum(len(t) for t in out.labels)} characters in {a.output}")
    return 0


def cmd_prepare(a: argparse.Namespace) -> int:
    from .datasets.crops import load_source, prepare_arrays

    out = prepare_arrays([load_source(s, a.size) for s in a.source], a.output, a.cap, a.min_per_class, a.seed)
    print(f"wrote {out}/images.npy, labels.npy, index.json")
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from .train.onnx_export import export_classifier, export_columns, export_detector

    if a.kind == "detector":
        print(f"exported {export_detector(a.checkpoint, a.output, a.threshold)}")
    elif a.kind == "columns":
        print(f"exported {export_columns(a.checkpoint, a.output)}")
    else:
        print(f"exported {export_classifier(a.checkpoint, a.output)}")
    return 0


def _common_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="run folder: checkpoints, history.json, curves.png")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: CUDA when present)")
    p.add_argument("--init", help="start from these weights (fine-tuning): a checkpoint .pt, an .onnx, or 'bundled' "
                                  "(the shipped model; 'bundled:classifier_2' for the second classifier)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train the detector, the classifier or the column reader").add_subparsers(
        dest="what", required=True)
    d = t.add_parser("detector", help="train the character detector")
    d.add_argument("--data", action="append", required=True, help="Kaggle or CODH layout folder (repeatable)")
    d.add_argument("--weight", action="append", type=float, help="sampling weight of each --data")
    d.add_argument("--neg-weight", action="append", type=float,
                   help="per --data: how much its background counts (below 1 for pages whose boxes are right but "
                        "incomplete, such as an alignment's detector/ folder; default 1)")
    d.add_argument("--val", action="append", help="real labelled pages for validation (repeatable)")
    d.add_argument("--model", default="centernet_s")
    d.add_argument("--height", type=int, default=1024, help="working page height in pixels")
    d.add_argument("--crop", type=int, default=384)
    d.add_argument("--iters", type=int, default=200, help="iterations per epoch")
    d.add_argument("--max-pages", type=int, default=0)
    _common_train(d)
    d.set_defaults(func=cmd_train_detector)

    c = t.add_parser("classifier", help="train the character classifier")
    c.add_argument("--source", action="append", required=True,
                   help="page folder (Kaggle/CODH), crop-array folder, npz:IMAGES,LABELS[,CLASSMAP] or kkanji:ROOT")
    c.add_argument("--repeat", action="append", type=int, help="per --source: count it N times (upweight real crops)")
    c.add_argument("--val", action="append", help="validation source (same forms), reported every epoch")
    c.add_argument("--model", default="resnet_s", help="resnet_xs, resnet_s, resnet_m, resnet18, efficientnet_b0..b7, baseline_cnn, fcn")
    c.add_argument("--size", type=int, default=48, help="input size (EfficientNet's own: 224..600)")
    c.add_argument("--classes", help="file of codes to use as classes")
    c.add_argument("--top", type=int, default=0, help="keep the N most frequent classes")
    c.add_argument("--rare", action="store_true", help="group the classes beyond --top as 'rare'")
    c.add_argument("--cap", type=int, default=2000, help="max samples per class per epoch")
    c.add_argument("--min-per-class", type=int, default=20, help="oversample classes below this")
    c.add_argument("--mixup", type=float, default=0.0)
    c.add_argument("--l2-softmax", type=float, default=0.0, help="L2-constrained softmax scale (0: plain softmax)")
    c.add_argument("--augment", type=float, default=1.0, help="augmentation strength (0: none)")
    c.add_argument("--lowres", type=float, default=0.0,
                   help="probability of a low-resolution training copy (14-32 px and back; KMNIST-sized glyphs)")
    _common_train(c)
    c.set_defaults(func=cmd_train_classifier, batch=256, lr=3e-3, epochs=10)

    cr = t.add_parser("columns", help="train the column reader (CTC) on column strips (`prepare-columns`)")
    cr.add_argument("--source", action="append", required=True, help="column set .npz (repeatable)")
    cr.add_argument("--repeat", action="append", type=float,
                    help="per --source: how often an epoch sees it (2: twice; 0.25: a new random quarter each epoch)")
    cr.add_argument("--val", action="append", help="column set .npz for validation CER, every epoch")
    cr.add_argument("--model", default="crnn_s")
    cr.add_argument("--shape-aug", type=float, default=0.5,
                    help="probability of a strip's shape jitter: height or width scale, stroke weight (default 0.5)")
    _common_train(cr)
    cr.set_defaults(func=cmd_train_columns, batch=16, lr=2e-3, epochs=20)

    pc = sub.add_parser("prepare-columns", help="column strips with their text, for `train columns`")
    pc.add_argument("--pages", action="append", help="labelled page folder (Kaggle/CODH layout, e.g. synthetic pages)")
    pc.add_argument("--aligned", help="`kuzushiji align` output: columns labelled with the text their boxes span")
    pc.add_argument("--text", help="with --aligned: the transcription it was aligned with")
    pc.add_argument("--images", help="with --aligned: the folder of the page images")
    pc.add_argument("--classifier", help="the vocabulary: this classifier's classes (default: the bundled one's)")
    pc.add_argument("-o", "--output", required=True, help="the column set (.npz)")
    pc.set_defaults(func=cmd_prepare_columns)

    pr = sub.add_parser("prepare", help="combine crop sources (e.g. K49 + Kuzushiji-Kanji) into one balanced array set")
    pr.add_argument("--source", action="append", required=True)
    pr.add_argument("-o", "--output", required=True)
    pr.add_argument("--size", type=int, default=64)
    pr.add_argument("--cap", type=int, default=0)
    pr.add_argument("--min-per-class", type=int, default=0)
    pr.add_argument("--seed", type=int, default=0)
    pr.set_defaults(func=cmd_prepare)

    e = sub.add_parser("export", help="export a checkpoint to ONNX")
    e.add_argument("kind", choices=["detector", "classifier", "columns"], help="what the checkpoint holds")
    e.add_argument("checkpoint", help="a training run's best.pt or last.pt")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--threshold", type=float, help="detector: default score threshold stored in the model")
    e.set_defaults(func=cmd_export)
