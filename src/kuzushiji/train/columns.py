"""Training the column reader (:mod:`kuzushiji.models.recognition.crnn`) with CTC on column strips
(:mod:`kuzushiji.datasets.columns`): strips of similar height batched together, light augmentation, bf16 on the
CPU, checkpoints every epoch (``--resume`` continues), validation CER per epoch."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..cer import edit_distance
from ..datasets.columns import STRIP_WIDTH, ColumnSet
from ..errors import DataError
from ..models import create_model
from ..models.from_onnx import freeze_batchnorm
from ..models.recognition.crnn import STRIDE
from .common import History, autocast, init_checkpoint, resume, save_checkpoint, start_run, unwrap, warmup_cosine


@dataclass
class ColumnConfig:
    sources: list[str] = field(default_factory=list)  # column sets (.npz)
    repeat: list[float] = field(default_factory=list)  # how often each source is seen an epoch (0.25: a random quarter)
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
    init: str | None = None  # start from these weights (a .pt, an .onnx, "bundled")
    shape_aug: float = 0.5  # probability of a strip's shape jitter (height and width scale, stroke weight)
    threads: int = 0
    max_pixels: int = 400_000  # a batch's strips together (height x width x count), for steady step times


def jitter_shape(strip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One strip with another hand's proportions: its height scaled by 0.8-1.2, its writing squeezed or widened
    across the strip by 0.8-1.1 and shifted, its strokes made thinner or thicker (one of the three or none)."""
    h, w = strip.shape
    k = int(rng.integers(4))
    if k == 0:
        return cv2.resize(strip, (w, max(8, int(round(h * rng.uniform(0.8, 1.2))))), interpolation=cv2.INTER_AREA)
    if k == 1:
        nw = int(round(w * rng.uniform(0.8, 1.1)))
        s = cv2.resize(strip, (nw, h), interpolation=cv2.INTER_AREA)
        out = np.full((h, w), 255, np.uint8)
        if nw <= w:
            off = int(rng.integers(0, w - nw + 1))
            out[:, off:off + nw] = s
        else:
            off = int(rng.integers(0, nw - w + 1))
            out[:] = s[:, off:off + w]
        return out
    if k == 2:
        op = cv2.erode if rng.random() < 0.5 else cv2.dilate  # dark ink: erode thickens, dilate thins
        return op(strip, np.ones((2, 2), np.uint8))
    return strip


def batch_tensor(strips: list[np.ndarray], rng: np.random.Generator | None = None, shape_aug: float = 0.0
                 ) -> torch.Tensor:
    """Strips padded with white to the tallest (and a multiple of the model's stride), ink high: ``(B, 1, H, W)``,
    with contrast and shift jitter when ``rng``, and :func:`jitter_shape` with probability ``shape_aug``."""
    if rng is not None and shape_aug > 0:
        strips = [jitter_shape(s, rng) if rng.random() < shape_aug else s for s in strips]
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


def epoch_indices(sizes: list[int], repeat: list[float], rng: np.random.Generator) -> np.ndarray:
    """One epoch's strips of the concatenated sources: each source ``int(r)`` times whole and a random share
    ``r - int(r)`` of it once more (a new sample each epoch)."""
    out, start = [], 0
    for n, r in zip(sizes, repeat):
        idx = np.arange(start, start + n)
        out += [idx] * int(r) + [rng.choice(idx, int(round((r - int(r)) * n)), replace=False)]
        start += n
    return np.concatenate(out)


def batches(heights: np.ndarray, batch: int, max_pixels: int, rng: np.random.Generator,
            pool: np.ndarray) -> list[np.ndarray]:
    """The indices of ``pool`` (:func:`epoch_indices`) grouped by similar height (sorted with jitter), at most
    ``batch`` or ``max_pixels`` each, shuffled."""
    order = pool[np.argsort(heights[pool] + rng.uniform(0, 64, len(pool)))]
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
    ckpt_init = init_checkpoint(cfg.init, "columns") if cfg.init else None  # a bad --init fails first
    rank, world, device, out = start_run(cfg.out, cfg.device, cfg.threads, cfg.seed)
    reps = cfg.repeat or [1.0] * len(cfg.sources)
    if len(reps) != len(cfg.sources) or min(reps) <= 0:
        raise DataError("--repeat", "one positive number per --source")
    sources = [ColumnSet.load(p) for p in cfg.sources]
    train, sizes = ColumnSet.concat(sources), [len(s) for s in sources]
    vals = {Path(p).stem: ColumnSet.load(p) for p in cfg.val}
    codes = train.codes
    heights = np.array([len(s) for s in train.strips])
    frozen_bn = bool(ckpt_init and ckpt_init.get("frozen_bn"))  # rebuilt from ONNX: BatchNorms folded, frozen
    if ckpt_init is not None:
        if list(ckpt_init["codes"]) != list(codes):
            raise DataError(cfg.init, "its classes differ from the column sets' (prepare them with the same "
                                      "classifier)")
        cfg.model = ckpt_init["model_name"]
    model = create_model(cfg.model, num_classes=len(codes))
    if ckpt_init is not None:
        model.load_state_dict(ckpt_init["model"])
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng0 = np.random.default_rng(0)
    steps = len(batches(heights, cfg.batch, cfg.max_pixels, rng0, epoch_indices(sizes, reps, rng0)))
    sched = warmup_cosine(opt, steps * cfg.epochs, min(300, steps * cfg.epochs // 10))
    history = History(out / "history.json")
    start, best = 0, float("inf")
    ck = resume(out / "last.pt", model, opt, sched) if cfg.resume else None
    if ck is not None:
        start, best = ck["epoch"] + 1, ck.get("best", best)
        frozen_bn = bool(ck.get("frozen_bn", frozen_bn))
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    print(f"{len(train)} column strips, {len(codes)} classes, {steps} steps an epoch")
    for epoch in range(start, cfg.epochs):
        model.train()
        if frozen_bn:
            freeze_batchnorm(model)
        rng = np.random.default_rng(cfg.seed * 1009 + epoch)
        t0, losses = time.time(), []
        todo = batches(heights, cfg.batch, cfg.max_pixels, rng, epoch_indices(sizes, reps, rng))[rank::world]
        bar = tqdm(todo, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   leave=False, disable=rank != 0)
        for b in bar:
            x = batch_tensor([train.strips[i] for i in b], rng, cfg.shape_aug).to(device)
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
                 "model_kwargs": {"num_classes": len(codes)}, "config": asdict(cfg), "strip_width": STRIP_WIDTH,
                 "frozen_bn": frozen_bn}
        if score <= best:
            best = state["best"] = score
            save_checkpoint(out / "best.pt", state)
        save_checkpoint(out / "last.pt", state)
        tqdm.write(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    return out / "best.pt"
