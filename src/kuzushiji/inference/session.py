"""Opening exported models: one place that turns a missing or corrupt ONNX file into a one-line error."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError


def open_session(path: str | Path, threads: int = 0, required_meta: tuple[str, ...] = ()):
    """An onnxruntime CPU session for ``path`` and its custom metadata; bad files raise :class:`DataError`."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "model file not found")
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # idle threads sleep instead of spinning: a page runs the detector and two classifiers (own thread pools) and
    # LightGBM one after the other, and one pool spinning starved the next (0.26 -> 0.20 s per page, README)
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own classes (InvalidProtobuf, InvalidGraph, Fail...)
        first = (str(e).splitlines() or [""])[0][:160]
        raise DataError(path, f"not a valid ONNX model ({e.__class__.__name__}: {first})") from None
    meta = session.get_modelmeta().custom_metadata_map
    missing = [k for k in required_meta if k not in meta]
    if missing:
        raise DataError(path, f"ONNX model lacks metadata {missing} (not a kuzushiji model of this kind?)")
    return session, meta
