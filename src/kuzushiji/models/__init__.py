"""Models created by name from a registry (``create_model("resnet_s", num_classes=...)``).

Importing this package needs torch (the ``train`` extra); inference uses ONNX files instead.
"""
from .registry import create_model, list_models, register_model

from . import detection, recognition  # noqa: E402,F401  (registers the models)

__all__ = ["create_model", "list_models", "register_model"]
