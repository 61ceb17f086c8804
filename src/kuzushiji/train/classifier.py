"""Train a character classifier from any mix of crop sources; class balancing, mixup, reports."""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..datasets.augment import augment_batch
from ..datasets.crops import CropSet, load_source
from ..inference.classifier import normalize_crops
from ..models import create_model
from ..models.from_onnx import freeze_batchnorm
from ..vocab import RARE
from .common import (History, autocast, init_checkpoint, resume, save_checkpoint, start_run,
                     unwrap, warmup_cosine)
from .reports import classifier_report
from .scoring import accuracy_report, predict_logits, to_labels


@dataclass
class ClassifierConfig:
    sources: list[str] = field(default_factory=list)
    repeat: list[int] = field(default_factory=list)  # per source: how many times it counts (upweights real crops)
    val: list[str] = field(default_factory=list)
    out: str = "runs/classifier"
    model: str = "resnet_s"
    size: int = 48
    classes: str | None = None  # file with one code per line (default: every code in the training data)
    top: int = 0  # keep the N most frequent training codes ...
    rare: bool = False  # ... and group the rest as one 'rare' class
    cap: int = 2000  # at most this many samples per class per epoch
    min_per_class: int = 20  # oversample (with augmentation) classes below this
    mixup: float = 0.0  # mixup alpha (0: off)
    l2_softmax: float = 0.0
    label_smoothing: float = 0.05
    augment: float = 1.0
    lowres: float = 0.0  # probability of a low-resolution training copy (datasets.augment)
    batch: int = 256
    epochs: int = 10
    lr: float = 3e-3
    weight_decay: float = 5e-4
    seed: int = 0
    precision: str = "auto"
    device: str | None = None
    init: str | None = None
    resume: bool = False
    threads: int = 0


def choose_classes(train: CropSet, cfg: ClassifierConfig) -> list[str]:
    if cfg.classes:
        return [l.strip() for l in Path(cfg.classes).read_text().split() if l.strip()]
    counts = Counter(train.codes.tolist())
    ranked = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if cfg.top and len(ranked) > cfg.top:
        return ranked[: cfg.top] + ([RARE] if cfg.rare else [])
    return ranked


def epoch_indices(labels: np.ndarray, n_classes: int, cap: int, min_per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Class-balanced epoch: each class contributes clip(count, min_per_class, cap) samples."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_classes + 1))
    out = []
    for k in range(n_classes):
        idx = order[bounds[k]: bounds[k + 1]]
        if len(idx) == 0:
            continue
        q = int(np.clip(len(idx), min_per_class, cap))
        out.append(rng.choice(idx, q, replace=q > len(idx)))
    out = np.concatenate(out)
    rng.shuffle(out)
    return out


def train_classifier(cfg: ClassifierConfig) -> Path:
    ckpt_init = init_checkpoint(cfg.init, "classifier") if cfg.init else None  # a bad --init fails first
    rank, world, device, out = start_run(cfg.out, cfg.device, cfg.threads, cfg.seed)
    reps = cfg.repeat or [1] * len(cfg.sources)
    loaded = [load_source(s, cfg.size) for s in cfg.sources]
    train = CropSet.concat([c for c, r in zip(loaded, reps) for _ in range(max(1, r))])
    classes = choose_classes(train, cfg)
    frozen_bn = bool(ckpt_init and ckpt_init.get("frozen_bn"))  # rebuilt from ONNX: BatchNorms folded, kept frozen
    if ckpt_init is not None and not cfg.classes:
        classes = ckpt_init["codes"]  # fine-tuning keeps the pretrained head's classes
    y = to_labels(train.codes, classes)
    train, y = train.subset(y >= 0), y[y >= 0]
    vals = {Path(s).name: load_source(s, cfg.size) for s in cfg.val}
    arch, kw = cfg.model, ({"l2_softmax": cfg.l2_softmax} if cfg.l2_softmax else {})
    if ckpt_init is not None:  # fine-tuning keeps the pretrained architecture (family, head)
        arch = ckpt_init["model_name"]
        kw = {k: v for k, v in ckpt_init.get("model_kwargs", {}).items() if k != "num_classes"}
    model = create_model(arch, num_classes=len(classes), **kw).to(device).to(memory_format=torch.channels_last)
    if ckpt_init is not None:
        model.load_state_dict(ckpt_init["model"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed * 31 + rank)
    steps_per_epoch = math.ceil(len(epoch_indices(y, len(classes), cfg.cap, cfg.min_per_class, rng)) / cfg.batch / world)
    total = steps_per_epoch * cfg.epochs
    warm = min(500, total // 10)
    sched = warmup_cosine(opt, total, warm)
    start, best = 0, -1.0
    history = History(out / "history.json")
    ck = resume(out / "last.pt", model, opt, sched) if cfg.resume else None
    if ck is not None:
        start, best = ck["epoch"] + 1, ck.get("best", -1.0)
        frozen_bn = bool(ck.get("frozen_bn", frozen_bn))
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    counts = Counter(train.codes.tolist())
    print(f"{len(train)} training crops, {len(classes)} classes, {steps_per_epoch} steps/epoch")

    for epoch in range(start, cfg.epochs):
        model.train()
        if frozen_bn:
            freeze_batchnorm(model)
        rng = np.random.default_rng(cfg.seed * 1009 + epoch * 17 + rank)
        idx = epoch_indices(y, len(classes), cfg.cap, cfg.min_per_class, rng)[rank::world]
        t0, losses, correct, seen = time.time(), [], 0, 0
        bar = tqdm(range(0, len(idx), cfg.batch), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=rank != 0, leave=False)
        for i in bar:
            b = idx[i: i + cfg.batch]
            x = torch.from_numpy(normalize_crops(augment_batch(train.images[b], rng, cfg.augment, cfg.lowres))).to(device)
            x = x.contiguous(memory_format=torch.channels_last)
            t = torch.from_numpy(y[b]).to(device)
            lam = float(rng.beta(cfg.mixup, cfg.mixup)) if cfg.mixup > 0 else 1.0
            perm = torch.randperm(len(b), device=device)
            if lam < 1.0:
                x = lam * x + (1 - lam) * x[perm]
            with autocast(device, cfg.precision):
                logits = model(x)
            logits = logits.float()
            loss = lam * F.cross_entropy(logits, t, label_smoothing=cfg.label_smoothing)
            if lam < 1.0:
                loss = loss + (1 - lam) * F.cross_entropy(logits, t[perm], label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            correct += int((logits.argmax(1) == t).sum())
            seen += len(b)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", acc=f"{correct / seen:.3f}")
        if rank != 0:
            continue
        dt = time.time() - t0
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "train_acc": correct / max(1, seen),
               "crops_per_s": round(seen * world / dt, 1), "seconds": round(dt, 1)}
        reports = {}
        for name, v in vals.items():
            r = accuracy_report(predict_logits(unwrap(model), v.images, device, cfg.precision), to_labels(v.codes, classes), classes)
            reports[name] = r
            row[f"{name}_acc"] = r["accuracy"]
        history.add(**row)
        history.plot(out / "curves.png", [("loss", ["loss"]), ("accuracy", ["train_acc"] + [f"{n}_acc" for n in vals])])
        score = np.mean([r["accuracy"] for r in reports.values()]) if reports else row["train_acc"]
        state = {"model": unwrap(model).state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch,
                 "best": best, "codes": classes, "model_name": arch, "model_kwargs": {"num_classes": len(classes), **kw},
                 "input_size": cfg.size, "config": asdict(cfg), "train_counts": dict(counts), "frozen_bn": frozen_bn}
        if score >= best:
            best = state["best"] = float(score)
            save_checkpoint(out / "best.pt", state)
        save_checkpoint(out / "last.pt", state)
        tqdm.write(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    if rank == 0:
        classifier_report(out, {n: v for n, v in vals.items()}, cfg)
    return out / "best.pt"
