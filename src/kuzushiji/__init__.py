"""kuzushiji: OCR for pre-modern Japanese cursive script on an ordinary CPU."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Recognizer", "__version__"]


def __getattr__(name: str):
    if name == "Recognizer":
        from .predictor import Recognizer

        return Recognizer
    raise AttributeError(name)
