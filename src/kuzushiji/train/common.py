"""What every training loop shares: device and bf16 choice, torchrun data parallelism,
atomic resumable checkpoints, and learning-curve plots."""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist


def cpu_has_bf16() -> bool:
    """AVX-512 BF16 or AMX: bf16 autocast is then 3-5x faster than fp32 on this kind of CPU."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def setup_distributed() -> tuple[int, int, int]:
    """Initialise torchrun's process group if present. Returns (rank, local_rank, world_size)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return rank, local, world


def start_run(out: str | Path, device: str | None, threads: int, seed: int) -> tuple[int, int, torch.device, Path]:
    """Process group, device, CPU threads, seeds and the run folder. Returns (rank, world, device, out)."""
    rank, local, world = setup_distributed()
    dev = pick_device(device, local)
    if threads:
        torch.set_num_threads(threads)
    seed_everything(seed + rank)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return rank, world, dev, out


def pick_device(name: str | None = None, local_rank: int = 0) -> torch.device:
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def autocast(device: torch.device, precision: str = "auto"):
    """bf16 autocast on capable CPUs and on CUDA; plain fp32 otherwise (or with ``precision='fp32'``)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if precision == "bf16" or cpu_has_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def warmup_cosine(opt: torch.optim.Optimizer, total: int, warm: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up for ``warm`` steps, then cosine decay to zero at ``total`` steps."""
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / max(1, warm)) * 0.5 * (1 + math.cos(math.pi * min(i, total) / total)))


def resume(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, sched) -> dict | None:
    """Restore model, optimiser and schedule from ``path`` if it exists; return the checkpoint."""
    if not path.is_file():
        return None
    ck = load_checkpoint(path)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    sched.load_state_dict(ck["sched"])
    return ck


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write atomically: an interrupted save never corrupts the last good checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


BUNDLED_INIT = {"classifier": "classifier.onnx", "detector": "detector.onnx", "columns": "columns.onnx"}


def init_checkpoint(spec: str, kind: str) -> dict:
    """The weights ``--init`` names: a checkpoint (``.pt``), an exported ``.onnx``, or ``bundled`` /
    ``bundled:classifier_2`` (the shipped model, rebuilt from its ONNX: :mod:`kuzushiji.models.from_onnx`).
    Anything missing or unreadable is a one-line :class:`DataError`, before any data is loaded."""
    from ..errors import DataError

    if spec == "bundled" or spec.startswith("bundled:"):
        from ..predictor import bundled_asset

        name = spec.partition(":")[2] or BUNDLED_INIT[kind]
        spec = str(bundled_asset(name if name.endswith(".onnx") else name + ".onnx"))
    path = Path(spec)
    if not path.is_file():
        raise DataError(path, "checkpoint not found (a training run's best.pt or last.pt, an .onnx, or "
                              "--init bundled for the shipped model)")
    if path.suffix == ".onnx":
        from ..models.from_onnx import model_from_onnx

        ck = model_from_onnx(path)[1]
    else:
        try:
            ck = load_checkpoint(path)
        except Exception as e:  # noqa: BLE001 - torch.load raises many types for a bad file
            raise DataError(path, f"not a checkpoint ({e.__class__.__name__})") from None
    if not isinstance(ck, dict) or "model" not in ck or (kind in ("classifier", "columns") and "codes" not in ck):
        raise DataError(path, f"not a {kind} checkpoint")
    return ck


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """The model a checkpoint holds (built by name from the registry, weights loaded, in eval mode) and the
    checkpoint itself (codes, input size, config)."""
    from ..models import create_model

    ck = load_checkpoint(path)
    model = create_model(ck["model_name"], **ck.get("model_kwargs", {}))
    model.load_state_dict(ck["model"])
    return model.eval(), ck


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model


class History:
    """Per-epoch metrics, kept as JSON beside the checkpoints and plotted as PNG."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows: list[dict] = json.loads(self.path.read_text()) if self.path.is_file() else []

    def add(self, **row) -> None:
        self.rows.append(row)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.rows, indent=1))
        os.replace(tmp, self.path)

    def plot(self, out: str | Path, panels: list[tuple[str, list[str]]]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6))
        axes = np.atleast_1d(axes)
        for ax, (title, keys) in zip(axes, panels):
            for k in keys:
                xs = [r["epoch"] for r in self.rows if k in r]
                ys = [r[k] for r in self.rows if k in r]
                if xs:
                    ax.plot(xs, ys, marker="o", ms=3, label=k)
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out, dpi=110)
        plt.close(fig)
