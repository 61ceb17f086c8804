"""Train the character detector: synthetic and real pages mixed by weight, validation every epoch
with the competition's class-agnostic F1 on real pages, checkpoints, resume, torchrun."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..datasets.detection import DetectionSampler, MemPage, load_mem_pages
from ..datasets.pages import load_pages
from ..inference.detector import decode
from ..metrics import Counts, match_page
from ..structures import CharBox, CharPoint
from ..models import create_model
from ..models.from_onnx import freeze_batchnorm
from .common import (History, autocast, init_checkpoint, resume, save_checkpoint, start_run,
                     unwrap, warmup_cosine)

THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


@dataclass
class DetectorConfig:
    data: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    neg_weights: list[float] = field(default_factory=list)  # per --data: its background's weight (default 1)
    val: list[str] = field(default_factory=list)
    out: str = "runs/detector"
    model: str = "centernet_s"
    height: int = 1024
    crop: int = 384
    batch: int = 16
    epochs: int = 12
    iters: int = 200  # iterations per epoch
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    precision: str = "auto"
    device: str | None = None
    init: str | None = None  # start from these weights (fine-tuning)
    resume: bool = False
    max_pages: int = 0  # limit pages per --data (0: all)
    threads: int = 0


def focal_loss(logits: torch.Tensor, target: torch.Tensor, neg_weight: torch.Tensor | None = None) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on the centre heatmap (alpha 2, beta 4); ``neg_weight`` ``(B,)``
    scales each crop's background term."""
    p = torch.sigmoid(logits.float()).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg = 1 - pos
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p ** 2 * (1 - target) ** 4 * neg
    if neg_weight is not None:
        neg_loss = neg_loss * neg_weight.view(-1, *([1] * (neg_loss.dim() - 1)))
    n = pos.sum().clamp(min=1)
    return -(pos_loss.sum() + neg_loss.sum()) / n


def _gather(feat: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    b, c = feat.shape[:2]
    f = feat.float().view(b, c, -1)
    return f.gather(2, index[:, None, :].expand(b, c, index.shape[1])).permute(0, 2, 1)


def detection_loss(out, heat, size, off, idx, mask, neg_weight=None):
    hm, sz, of = out
    lh = focal_loss(hm, heat, neg_weight)
    m = mask[..., None]
    n = mask.sum().clamp(min=1)
    ls = (F.l1_loss(_gather(sz, idx), size, reduction="none") * m).sum() / n
    lo = (F.l1_loss(_gather(of, idx), off, reduction="none") * m).sum() / n
    return lh + ls + lo, (lh.item(), ls.item(), lo.item())


@torch.no_grad()
def predict_pages(model: torch.nn.Module, pages: list[MemPage], device, precision: str = "auto"):
    """Raw head outputs for each page (at working height), as numpy."""
    from ..inference.detector import preprocess

    model.eval()
    outs = []
    for p in pages:
        x, _ = preprocess(p.gray, p.gray.shape[0])
        with autocast(device, precision):
            hm, sz, of = model(torch.from_numpy(x).to(device))
        outs.append((hm[0].float().cpu().numpy(), sz[0].float().cpu().numpy(), of[0].float().cpu().numpy()))
    return outs


def detection_counts(pages: list[MemPage], outs, threshold: float) -> Counts:
    """Class-agnostic competition matching of predicted centres against the true boxes."""
    total = Counts()
    for p, (hm, sz, of) in zip(pages, outs):
        det = decode(hm, sz, of, 1.0, threshold)
        truth = [CharBox("x", *b) for b in p.boxes]
        pts = [CharPoint("x", d[0] + d[2] / 2, d[1] + d[3] / 2) for d in det]
        c, _, _ = match_page(truth, pts, class_agnostic=True)
        total += c
    return total


def evaluate(model, pages, device, precision="auto") -> dict:
    outs = predict_pages(model, pages, device, precision)
    res = {t: detection_counts(pages, outs, t) for t in THRESHOLDS}
    best = max(res, key=lambda t: res[t].f1)
    c = res[best]
    return {"f1": c.f1, "precision": c.precision, "recall": c.recall, "threshold": best,
            "by_threshold": {str(t): round(r.f1, 4) for t, r in res.items()}}


def train_detector(cfg: DetectorConfig) -> Path:
    ckpt_init = init_checkpoint(cfg.init, "detector") if cfg.init else None  # a bad --init fails first
    frozen_bn = bool(ckpt_init and ckpt_init.get("frozen_bn"))  # rebuilt from ONNX: BatchNorms folded, kept frozen
    rank, world, device, out = start_run(cfg.out, cfg.device, cfg.threads, cfg.seed)
    weights = cfg.weights or [1.0] * len(cfg.data)
    sets = []
    for d in cfg.data:
        recs = load_pages(d, check_sizes=False)
        if cfg.max_pages:
            recs = recs[: cfg.max_pages]
        sets.append(load_mem_pages(recs, cfg.height, desc=f"load {d}"))
    val_pages: list[MemPage] = []
    for d in cfg.val:
        val_pages += load_mem_pages(load_pages(d), cfg.height, desc=f"load val {d}")
    sampler = DetectionSampler(sets, weights, cfg.crop, seed=cfg.seed * 7919 + rank, neg_weights=cfg.neg_weights or None)

    model = create_model(cfg.model).to(device).to(memory_format=torch.channels_last)
    if ckpt_init is not None:
        model.load_state_dict(ckpt_init["model"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.iters
    warm = min(300, total // 10)
    sched = warmup_cosine(opt, total, warm)
    start_epoch, best_f1 = 0, -1.0
    history = History(out / "history.json")
    ck = resume(out / "last.pt", model, opt, sched) if cfg.resume else None
    if ck is not None:
        start_epoch, best_f1 = ck["epoch"] + 1, ck.get("best_f1", -1.0)
        frozen_bn = bool(ck.get("frozen_bn", frozen_bn))
        sampler.rng = np.random.default_rng(cfg.seed * 7919 + rank + 1000 * start_epoch)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))

    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        if frozen_bn:
            freeze_batchnorm(model)
        t0, losses = time.time(), []
        bar = tqdm(range(cfg.iters), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=rank != 0, leave=False)
        for _ in bar:
            x, heat, size, off, idx, mask, negw = (torch.from_numpy(a).to(device) for a in sampler.batch(cfg.batch))
            x = x.contiguous(memory_format=torch.channels_last)
            with autocast(device, cfg.precision):
                outp = model(x)
            loss, parts = detection_loss(outp, heat, size, off, idx, mask, negw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            sched.step()
            losses.append(parts)
            bar.set_postfix(heat=f"{parts[0]:.3f}", size=f"{parts[1]:.3f}", off=f"{parts[2]:.3f}")
        if rank != 0:
            continue
        lh, ls, lo = np.mean(losses, 0)
        row = {"epoch": epoch + 1, "loss": float(lh + ls + lo), "heat_loss": float(lh), "size_loss": float(ls),
               "offset_loss": float(lo), "seconds": round(time.time() - t0, 1), "lr": sched.get_last_lr()[0]}
        if val_pages:
            ev = evaluate(unwrap(model), val_pages, device, cfg.precision)
            row |= {"val_f1": ev["f1"], "val_precision": ev["precision"], "val_recall": ev["recall"],
                    "val_threshold": ev["threshold"]}
        history.add(**row)
        history.plot(out / "curves.png", [("loss", ["loss", "heat_loss", "size_loss", "offset_loss"]),
                                         ("real-page detection", ["val_f1", "val_precision", "val_recall"])])
        state = {"model": unwrap(model).state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                 "epoch": epoch, "best_f1": best_f1, "config": asdict(cfg), "model_name": cfg.model,
                 "threshold": row.get("val_threshold", 0.3), "frozen_bn": frozen_bn}
        f1 = row.get("val_f1", -row["loss"])
        if f1 >= best_f1:
            best_f1 = state["best_f1"] = f1
            save_checkpoint(out / "best.pt", state)
        save_checkpoint(out / "last.pt", state)
        msg = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        tqdm.write(msg)
    return out / "best.pt"
