"""A trainable PyTorch model rebuilt from an exported ONNX file (the bundled models ship as ONNX only).

The exporter folds each BatchNorm into the convolution before it, so a rebuilt model carries the folded
weights with its BatchNorms set to the identity plus the folded bias: in eval mode it computes exactly what
the ONNX file computes (checked against onnxruntime on every rebuild). Fine-tuning it keeps those BatchNorms
frozen (:func:`freeze_batchnorm`), the usual choice when a few pages are all the data.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..errors import DataError
from .registry import create_model


def _ordered_convs(model: nn.Module, x: torch.Tensor) -> list[nn.Conv2d]:
    """The model's convolutions in the order a forward pass runs them (the order the exporter writes them)."""
    order: list[nn.Conv2d] = []
    hooks = [m.register_forward_hook(lambda mod, *_: order.append(mod)) for m in model.modules()
             if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(x)
    for h in hooks:
        h.remove()
    return order


def _bn_after(model: nn.Module) -> dict[nn.Conv2d, nn.BatchNorm2d]:
    """Each convolution that a BatchNorm follows in a Sequential (ConvBNAct), with that BatchNorm."""
    out = {}
    for m in model.modules():
        if isinstance(m, nn.Sequential):
            items = list(m)
            for a, b in zip(items, items[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    out[a] = b
    return out


def _l2_alpha(graph) -> float:
    """The scale of an L2-softmax head: the scalar constant its normalised features are multiplied by."""
    from onnx import numpy_helper

    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node if n.op_type == "Constant"}
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Mul":
            for name in n.input:
                v = consts.get(name, inits.get(name))
                if v is not None and v.size == 1:
                    return float(v.reshape(-1)[0])
    return 16.0


def _load_recurrent(model: nn.Module, graph, inits: dict[str, np.ndarray]) -> None:
    """The column reader's BiLSTM and its linear head from the ONNX ``LSTM`` and ``MatMul`` nodes. ONNX orders
    the gates input, output, forget, cell; PyTorch input, forget, cell, output; ONNX's bias is ``[Wb, Rb]``."""
    lstm = next(n for n in graph.node if n.op_type == "LSTM")
    w, r, b = (inits[name] for name in lstm.input[1:4])
    gates = [0, 2, 3, 1]  # PyTorch's i, f, g, o as ONNX's block indices

    def reorder(a: np.ndarray) -> torch.Tensor:
        h = a.shape[0] // 4
        return torch.from_numpy(np.concatenate([a[k * h:(k + 1) * h] for k in gates]).copy())

    for d, suffix in enumerate(["", "_reverse"]):
        h4 = w.shape[1]
        getattr(model.rnn, f"weight_ih_l0{suffix}").copy_(reorder(w[d]))
        getattr(model.rnn, f"weight_hh_l0{suffix}").copy_(reorder(r[d]))
        getattr(model.rnn, f"bias_ih_l0{suffix}").copy_(reorder(b[d, :h4]))
        getattr(model.rnn, f"bias_hh_l0{suffix}").copy_(reorder(b[d, h4:]))
    matmul = next(n for n in graph.node if n.op_type == "MatMul" and n.input[1] in inits)
    model.head.weight.copy_(torch.from_numpy(inits[matmul.input[1]].T.copy()))


def model_from_onnx(path: str | Path) -> tuple[nn.Module, dict]:
    """``(model, checkpoint)``: the model in eval mode with the ONNX file's weights, and a checkpoint dict in the
    layout of :func:`kuzushiji.train.common.save_checkpoint` (``frozen_bn`` set) for ``--init``."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    path = Path(path)
    try:
        m = onnx.load(str(path))
    except Exception as e:  # noqa: BLE001 - protobuf raises its own types
        raise DataError(path, f"not an ONNX model ({e.__class__.__name__})") from None
    meta = {p.key: p.value for p in m.metadata_props}
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    kind, name = meta.get("kind"), meta.get("model")
    if kind == "classifier":
        codes = meta["codes"].split()
        kw = {"l2_softmax": _l2_alpha(m.graph)} if "model.head.fc.weight" in inits else {}
        model = create_model(name, num_classes=len(codes), **kw)
        size = int(meta["input_size"])
        x = torch.rand(2, 1, size, size)
        ck = {"codes": codes, "model_kwargs": {"num_classes": len(codes), **kw}, "input_size": size}
    elif kind == "detector":
        model = create_model(name)
        x = torch.rand(1, 1, 256, 160)
        ck = {"model_kwargs": {}, "config": {"height": int(meta["height"])}, "threshold": float(meta["threshold"])}
    elif kind == "columns":
        codes = meta["codes"].split()
        model = create_model(name, num_classes=len(codes))
        x = torch.rand(2, 1, 96, int(meta["strip_width"]))
        ck = {"codes": codes, "model_kwargs": {"num_classes": len(codes)}, "strip_width": int(meta["strip_width"])}
    else:
        raise DataError(path, f"not a kuzushiji model (kind {kind!r})")
    convs = _ordered_convs(model, x)
    nodes = [n for n in m.graph.node if n.op_type == "Conv"]
    if len(convs) != len(nodes):
        raise DataError(path, f"{len(nodes)} convolutions in the file, {len(convs)} in {name}")
    bns = _bn_after(model)
    state = model.state_dict()
    with torch.no_grad():
        for conv, node in zip(convs, nodes):
            w = torch.from_numpy(inits[node.input[1]].copy())
            b = torch.from_numpy(inits[node.input[2]].copy()) if len(node.input) > 2 else None
            if w.shape != conv.weight.shape:
                raise DataError(path, f"convolution shapes differ ({tuple(w.shape)} vs {tuple(conv.weight.shape)})")
            conv.weight.copy_(w)
            if conv.bias is not None:
                conv.bias.copy_(b)
            elif conv in bns:  # the folded bias goes into the BatchNorm, now an identity in eval mode
                bn = bns[conv]
                bn.weight.fill_(1.0)
                bn.bias.copy_(b if b is not None else torch.zeros_like(bn.bias))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
        if kind == "columns":
            _load_recurrent(model, m.graph, inits)
        for key, v in inits.items():  # what the exporter kept by name (heads, biased convolutions)
            k = key[len("model."):] if key.startswith("model.") else key
            if k in state:
                state[k].copy_(torch.from_numpy(v.copy()))
    model.eval()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    xin = x.numpy()
    ref = sess.run(None, {sess.get_inputs()[0].name: xin})
    with torch.no_grad():
        if kind == "classifier":
            got = (model.head(model.forward_features(x)), model.forward_features(x))
        else:
            got = model(x) if kind == "detector" else (model(x),)
    diff = max(float(np.abs(a.numpy() - b).max()) for a, b in zip(got, ref))
    if diff > 1e-3:
        raise DataError(path, f"the rebuilt {name} differs from the file by {diff:.2g}")
    ck.update({"model": model.state_dict(), "model_name": name, "frozen_bn": True, "source_onnx": str(path)})
    return model, ck


def freeze_batchnorm(model: nn.Module) -> nn.Module:
    """BatchNorms in eval mode (running statistics, no updates) while the rest trains."""
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.eval()
    return model


__all__ = ["model_from_onnx", "freeze_batchnorm"]
