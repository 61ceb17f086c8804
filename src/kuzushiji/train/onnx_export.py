"""Export trained checkpoints to ONNX (inference then needs onnxruntime only)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .common import load_model


def _export(model: torch.nn.Module, x: torch.Tensor, out: Path, inputs: list[str], outputs: list[str],
            dynamic: dict, metadata: dict[str, str]) -> Path:
    import onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    torch.onnx.export(model, x, str(tmp), input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                      opset_version=17, dynamo=False)
    m = onnx.load(str(tmp))
    for k, v in metadata.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.save(m, str(out))
    tmp.unlink()
    return out


def export_detector(ckpt: str | Path, out: str | Path, threshold: float | None = None) -> Path:
    model, ck = load_model(ckpt)
    h = int(ck["config"]["height"])
    x = torch.zeros(1, 1, h, (int(h * 0.62) // 32) * 32)
    meta = {"kind": "detector", "height": h, "threshold": threshold if threshold is not None else ck.get("threshold", 0.3),
            "model": ck["model_name"], "license": "CC BY-SA 4.0 (trained with CODH data)"}
    return _export(model, x, Path(out), ["image"], ["heatmap", "size", "offset"],
                   {"image": {0: "batch", 2: "height", 3: "width"}}, meta)


class _LogitsAndFeatures(torch.nn.Module):
    """A classifier that also returns its pooled features (what a glyph memory compares)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.model.forward_features(x)
        return self.model.head(self.model.drop(f)), f


def export_classifier(ckpt: str | Path, out: str | Path) -> Path:
    """ONNX with outputs ``logits`` and, for models with ``forward_features``, ``features``."""
    model, ck = load_model(ckpt)
    s = int(ck["input_size"])
    x = torch.zeros(2, 1, s, s)
    meta = {"kind": "classifier", "input_size": s, "codes": " ".join(ck["codes"]), "model": ck["model_name"],
            "license": "CC BY-SA 4.0 (trained with CODH data)"}
    if hasattr(model, "forward_features"):
        return _export(_LogitsAndFeatures(model).eval(), x, Path(out), ["image"], ["logits", "features"],
                       {"image": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}}, meta)
    return _export(model, x, Path(out), ["image"], ["logits"], {"image": {0: "batch"}, "logits": {0: "batch"}}, meta)


def export_columns(ckpt: str | Path, out: str | Path) -> Path:
    """The column reader as ONNX: input ``strip`` ``(B, 1, H, W)`` (any height), output ``logits`` ``(B, T, C + 1)``
    (class 0 the CTC blank)."""
    from ..models.recognition.crnn import STRIDE

    model, ck = load_model(ckpt)
    w = int(ck["strip_width"])
    meta = {"kind": "columns", "strip_width": w, "stride": STRIDE, "codes": " ".join(ck["codes"]),
            "model": ck["model_name"], "license": "CC BY-SA 4.0 (trained with CODH data)"}
    return _export(model, torch.zeros(1, 1, 64, w), Path(out), ["strip"], ["logits"],
                   {"strip": {0: "batch", 2: "height"}, "logits": {0: "batch", 1: "steps"}}, meta)


def check_onnx_matches(model: torch.nn.Module, onnx_path: str | Path, x: np.ndarray) -> float:
    """Max absolute difference between torch and onnxruntime outputs on ``x``."""
    import onnxruntime as ort

    s = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        t = model.eval()(torch.from_numpy(x))
    t = t if isinstance(t, (tuple, list)) else (t,)
    o = s.run(None, {"image": x})
    return max(float(np.abs(a.numpy() - b).max()) for a, b in zip(t, o))
