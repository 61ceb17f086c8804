"""Glyph memory: labelled real crops, kept as the classifier's feature vectors, that vote at recognition time.

A character whose features lie close to a remembered glyph of class *c* gets its probability of *c* raised by
``exp(weight * similarity)`` (cosine similarity, the nearest remembered glyph of each class, below 0 ignored).
No training: a memory built from the aligned pages of a book, from corrected pages or from any Kaggle-layout
page folder starts helping at once. A memory belongs to one classifier file (its SHA-256 is stored).
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError
from .inference.classifier import OnnxClassifier
from .io.crop import READ_PAD

FORMAT = "kuzushiji-glyph-memory-1"


@dataclass
class GlyphMemory:
    features: np.ndarray  # (M, D) float32, unit length, sorted by label
    labels: np.ndarray  # (M,) int64 indices into ``codes``
    codes: list[str]  # the classifier's classes, in its order
    fingerprint: str  # the classifier file's SHA-256 prefix
    sources: list[str] = field(default_factory=list)
    _starts: np.ndarray = field(init=False, repr=False)
    _present: np.ndarray = field(init=False, repr=False)
    _features64: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        order = np.argsort(self.labels, kind="stable")
        self.features = np.ascontiguousarray(self.features[order], np.float32)
        self.labels = self.labels[order].astype(np.int64)
        self._present, self._starts = np.unique(self.labels, return_index=True)
        self._features64 = self.features.astype(np.float64)

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def build(cls, classifier: OnnxClassifier, crops: np.ndarray, codes: np.ndarray,
              sources: list[str] | None = None) -> "GlyphMemory":
        """Remember ``crops`` (uint8 ``(N, S, S)`` at the classifier's size) labelled ``codes``; crops of classes
        the classifier does not have are left out."""
        if not classifier.has_features:
            raise DataError(classifier.path, "this classifier has no 'features' output (re-export it with "
                                             "`kuzushiji export classifier`)")
        index = {c: i for i, c in enumerate(classifier.codes)}
        y = np.array([index.get(c, -1) for c in codes], np.int64)
        keep = y >= 0
        _, f = classifier.run(crops[keep]) if keep.any() else (None, np.zeros((0, 1), np.float32))
        return cls(f, y[keep], list(classifier.codes), classifier.fingerprint, list(sources or []))

    @classmethod
    def from_pages(cls, classifier: OnnxClassifier, records: list, sources: list[str] | None = None,
                   pad: float = READ_PAD) -> "GlyphMemory":
        """Remember every labelled box of ``records`` (:class:`~kuzushiji.datasets.pages.PageRecord`), cut at
        the recognizer's framing ``pad``."""
        from .datasets.crops import from_pages

        crops = from_pages(records, classifier.size, progress=False, pad=pad)
        return cls.build(classifier, crops.images, crops.codes, sources)

    def merged(self, other: "GlyphMemory", path: str | Path = "memory") -> "GlyphMemory":
        """This memory and ``other`` (built for the same classifier) as one."""
        if other.fingerprint != self.fingerprint or other.codes != self.codes:
            raise DataError(path, "built for another classifier; memories of one classifier only can be merged")
        return GlyphMemory(np.concatenate([self.features, other.features]), np.concatenate([self.labels, other.labels]),
                           self.codes, self.fingerprint, self.sources + other.sources)

    def similarity(self, features: np.ndarray) -> np.ndarray:
        """``(N, C)``: each character's cosine similarity to the nearest remembered glyph of every class
        (0 where the memory has none, or where it is below 0)."""
        out = np.zeros((len(features), len(self.codes)), np.float32)
        if len(features) and len(self):
            # in float64, so the result does not depend on how many threads the BLAS splits the product over
            # (float32 sums in another order differ in the last bit; a batch on Ray must write what a local one does)
            sims = (features.astype(np.float64) @ self._features64.T).astype(np.float32)
            out[:, self._present] = np.maximum(np.maximum.reduceat(sims, self._starts, axis=1), 0.0)
        return out

    def check(self, classifier: OnnxClassifier, path: str | Path = "memory") -> None:
        if self.fingerprint != classifier.fingerprint or self.codes != classifier.codes:
            raise DataError(path, f"built for another classifier than {classifier.path.name} "
                                  "(rebuild it with `kuzushiji memory`)")

    def save(self, path: str | Path) -> Path:
        from .io.atomic import atomic_open

        path = Path(path)
        meta = {"format": FORMAT, "codes": self.codes, "fingerprint": self.fingerprint, "sources": self.sources}
        with atomic_open(path, "wb") as f:
            np.savez_compressed(f, features=self.features.astype(np.float16), labels=self.labels.astype(np.int32),
                                meta=np.array(json.dumps(meta, ensure_ascii=False)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "GlyphMemory":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                f, y = z["features"].astype(np.float32), z["labels"].astype(np.int64)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(path, f"not a glyph memory ({e.__class__.__name__})") from None
        if meta.get("format") != FORMAT or f.ndim != 2 or len(f) != len(y) or \
                (len(y) and not 0 <= y.min() <= y.max() < len(meta.get("codes", []))):
            raise DataError(path, "not a glyph memory (wrong format or inconsistent arrays)")
        f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-6)  # float16 storage rounding
        return cls(f, y, list(meta["codes"]), str(meta["fingerprint"]), list(meta.get("sources", [])))
