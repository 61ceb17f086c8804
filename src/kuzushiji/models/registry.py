"""A timm-style model registry."""
from __future__ import annotations

from typing import Callable

import torch.nn as nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    _MODELS[fn.__name__] = fn
    return fn


def create_model(name: str, **kwargs) -> nn.Module:
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(_MODELS))}")
    model = _MODELS[name](**kwargs)
    model.model_name = name
    model.model_kwargs = kwargs
    return model


def list_models(prefix: str = "") -> list[str]:
    return sorted(k for k in _MODELS if k.startswith(prefix))
