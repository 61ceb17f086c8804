"""Training the column reader (:mod:`kuzushiji.models.recognition.crnn`) with CTC on column strips
(:mod:`kuzushiji.datasets.columns`): strips of similar height batched together, light augmentation, bf16 on the
CPU, checkpoints every epoch (``--resume`` continues), validation CER per epoch."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..cer import edit_distance
from ..datasets.columns import STRIP_WIDTH, ColumnSet
from ..models import create_model
from ..models.recognition.crnn import STRIDE
from .common import History, autocast, resume, save_checkpoint, start_run, unwrap, warmup_cosine


@dataclass
class ColumnConfig:
    sources: list[str] = field(default_factory=list)  # column sets (.npz)
    repeat: list[int] = field(default_factory=list)  # how often each source is seen an epoch
    val: list[str] = field(default_factory=list)
    out: str = "runs/columns"
    model: str = "crnn_s"
    batch: int = 16
    epochs: int = 10
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    precision: str = "auto"
    device: str | None = None
    resume: bool = False
    threads: int = 0
    max_pixels: int = 400_000  # a batch's strips together (height x width x count), for steady step times


def batch_tensor(strips: list[np.ndarray], rng: np.random.Generator | None = None) -> torch.Tensor:
    """Strips padded with white to the tallest (and a multiple of the model's stride), ink high: ``(B, 1, H, W)``,
    with contrast and shift jitter when ``rng``."""
    h = -(-max(len(s) for s in strips) // STRIDE) * STRIDE
    x = np.full((len(strips), 1, h, STRIP_WIDTH), 255, np.uint8)
    for i, s in enumerate(strips):
        top = 0
        if rng is not None and h > len(s):
            top = int(rng.integers(0, min(h - len(s), STRIDE) + 1))
        x[i, 0, top:top + len(s)] = s
    x = 1.0 - x.astype(np.float32) / 255.0
    if rng is not None:
        x = x * rng.uniform(0.7, 1.3, (len(strips), 1, 1, 1)).astype(np.float32)
        x = x + rng.normal(0, 0.03, x.shape).astype(np.float32)
    return torch.from_numpy(x)


def batches(heights: np.ndarray, batch: int, max_pixels: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Indices grouped by similar height (sorted with jitter), at most ``batch`` or ``max_pixels`` each, shuffled."""
    order = np.argsort(heights + rng.uniform(0, 64, len(heights)))
    out, cur = [], []
    for i in order:
        cur.append(i)
        if len(cur) == batch or heights[cur].max() * STRIP_WIDTH * len(cur) > max_pixels:
            out.append(np.array(cur))
            cur = []
    if cur:
        out.append(np.array(cur))
    rng.shuffle(out)
    return out


def greedy(logits: np.ndarray) -> list[int]:
    """CTC best path: the argmax per step, repeats merged, blanks (0) dropped; class indices (0-based)."""
    path = logits.argmax(-1)
    return [int(k) - 1 for k, prev in zip(path, np.r_[-1, path[:-1]]) if k != prev and k != 0]


def _as_text(classes: list[int]) -> str:
    """Class indices as one character each (for :func:`edit_distance`)."""
    return "".join(chr(0x10000 + k) for k in classes)


def evaluate(model, sets: ColumnSet, device, precision: str, limit: int = 400) -> float:
    """Greedy-decoded CER over (at most ``limit``) strips."""
    model.eval()
    errors = chars = 0
    with torch.no_grad():
        for i in range(min(limit, len(sets))):
            x = batch_tensor([sets.strips[i]]).to(device)
            with autocast(device, precision):
                z = model(x).float()[0].cpu().numpy()
            hyp, ref = (_as_text(k) for k in (greedy(z), sets.labels[i].tolist()))
            errors += edit_distance(hyp, ref)
            chars += len(ref)
    return errors / max(chars, 1)


def train_columns(cfg: ColumnConfig) -> Path:
    rank, world, device, out = start_run(cfg.out, cfg.device, cfg.threads, cfg.seed)
    reps = cfg.repeat or [1] * len(cfg.sources)
    train = ColumnSet.concat([s for p, r in zip(cfg.sources, reps) for s in [ColumnSet.load(p)] * max(1, r)])
    vals = {Path(p).stem: ColumnSet.load(p) for p in cfg.val}
    codes = train.codes
    heights = np.array([len(s) for s in train.strips])
    model = create_model(cfg.model, num_classes=len(codes)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = len(batches(heights, cfg.batch, cfg.max_pixels, np.random.default_rng(0)))
    sched = warmup_cosine(opt, steps * cfg.epochs, min(300, steps * cfg.epochs // 10))
    history = History(out / "history.json")
    start, best = 0, float("inf")
    ck = resume(out / "last.pt", model, opt, sched) if cfg.resume else None
    if ck is not None:
        start, best = ck["epoch"] + 1, ck.get("best", best)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    print(f"{len(train)} column strips, {len(codes)} classes, {steps} steps/epoch")
    for epoch in range(start, cfg.epochs):
        model.train()
        rng = np.random.default_rng(cfg.seed * 1009 + epoch)
        t0, losses = time.time(), []
        bar = tqdm(batches(heights, cfg.batch, cfg.max_pixels, rng)[rank::world], desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   leave=False, disable=rank != 0)
        for b in bar:
            x = batch_tensor([train.strips[i] for i in b], rng).to(device)
            targets = torch.from_numpy(np.concatenate([train.labels[i] for i in b]) + 1).to(device)
            lengths = torch.tensor([len(train.labels[i]) for i in b])
            with autocast(device, cfg.precision):
                z = model(x)
            logp = F.log_softmax(z.float(), -1).transpose(0, 1)  # (T, B, C)
            t = torch.full((len(b),), logp.shape[0], dtype=torch.long)
            loss = F.ctc_loss(logp, targets, t, lengths, blank=0, zero_infinity=True)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        if rank != 0:
            continue
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "seconds": round(time.time() - t0, 1)}
        for name, v in vals.items():
            row[f"{name}_cer"] = evaluate(unwrap(model), v, device, cfg.precision)
        history.add(**row)
        history.plot(out / "curves.png", [("loss", ["loss"]), ("CER", [f"{n}_cer" for n in vals])])
        score = float(np.mean([row[f"{n}_cer"] for n in vals])) if vals else row["loss"]
        state = {"model": unwrap(model).state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                 "epoch": epoch, "best": best, "codes": codes, "model_name": cfg.model,
                 "model_kwargs": {"num_classes": len(codes)}, "config": asdict(cfg), "strip_width": STRIP_WIDTH}
        if score <= best:
            best = state["best"] = score
            save_checkpoint(out / "best.pt", state)
        save_checkpoint(out / "last.pt", state)
        tqdm.write(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    return out / "best.pt"
