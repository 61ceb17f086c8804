"""Glyph memory: labelled real crops, kept as the classifier's feature vectors, that vote at recognition time.

A character whose features lie close to a remembered glyph of class *c* gets its probability of *c* raised by
``exp(weight * similarity)`` (cosine similarity, the nearest remembered glyph of each class, below 0 ignored).
No training: a memory built from the aligned pages of a book, from corrected pages or from any Kaggle-layout
page folder starts helping at once. A memory belongs to one classifier file (its SHA-256 is stored).

A memory can also carry a *hand head* (:class:`HandHead`): a linear softmax over the remembered classes, fitted to
the remembered features in seconds (:meth:`GlyphMemory.with_head`). Where the nearest-glyph vote sees one glyph, the
head weighs all of them; the recognizer mixes its probabilities into the classifiers' (``head_weight``).
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
HEAD_SCALE = 10.0  # the head reads unit-length features times this (logits of a useful range from small weights)


@dataclass
class HandHead:
    """Multinomial logistic regression on the classifier's unit features, over the classes a memory holds."""
    weight: np.ndarray  # (D, K) float32
    bias: np.ndarray  # (K,) float32
    classes: np.ndarray  # (K,) int64 indices into the memory's ``codes``

    def probs(self, features: np.ndarray, n_classes: int) -> np.ndarray:
        """``(N, n_classes)`` probabilities: the head's softmax on its classes, 0 on the others."""
        z = (HEAD_SCALE * features.astype(np.float64)) @ self.weight + self.bias
        z = np.exp(z - z.max(1, keepdims=True))
        out = np.zeros((len(features), n_classes), np.float32)
        out[:, self.classes] = z / z.sum(1, keepdims=True)
        return out

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, epochs: int = 60, batch: int = 512, lr: float = 1e-2,
            weight_decay: float = 1e-4, smoothing: float = 0.1, seed: int = 0) -> "HandHead":
        """Softmax cross-entropy with label smoothing, AdamW on shuffled mini-batches (float64, deterministic)."""
        classes, y = np.unique(labels, return_inverse=True)
        x = HEAD_SCALE * features.astype(np.float64)
        n, d, k = len(x), x.shape[1], len(classes)
        params = [np.zeros((d, k)), np.zeros(k)]
        moments = [(np.zeros_like(q), np.zeros_like(q)) for q in params]
        rng = np.random.default_rng(seed)
        step = 0
        for _ in range(epochs):
            for idx in np.array_split(rng.permutation(n), max(1, -(-n // batch))):
                xb = x[idx]
                z = xb @ params[0] + params[1]
                p = np.exp(z - z.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                p -= smoothing / k
                p[np.arange(len(idx)), y[idx]] -= 1.0 - smoothing
                grads = [xb.T @ p / len(idx), p.mean(0)]
                step += 1
                for q, g, (m, v) in zip(params, grads, moments):
                    q *= 1.0 - lr * weight_decay
                    m += 0.1 * (g - m)
                    v += 0.001 * (g * g - v)
                    q -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
        return cls(params[0].astype(np.float32), params[1].astype(np.float32), classes.astype(np.int64))


@dataclass
class GlyphMemory:
    features: np.ndarray  # (M, D) float32, unit length, sorted by label
    labels: np.ndarray  # (M,) int64 indices into ``codes``
    codes: list[str]  # the classifier's classes, in its order
    fingerprint: str  # the classifier file's SHA-256 prefix
    sources: list[str] = field(default_factory=list)
    head: HandHead | None = None
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
                           self.codes, self.fingerprint, self.sources + other.sources)  # no head: fit it anew

    def with_head(self, **fit_options) -> "GlyphMemory":
        """This memory with a :class:`HandHead` fitted to its glyphs (:meth:`HandHead.fit`'s options)."""
        if not len(self):
            raise DataError("memory", "holds no glyph to fit a hand head to")
        return GlyphMemory(self.features, self.labels, self.codes, self.fingerprint, self.sources,
                           HandHead.fit(self.features, self.labels, **fit_options))

    def head_probs(self, features: np.ndarray) -> np.ndarray:
        """``(N, C)``: the hand head's class probabilities (requires a head)."""
        return self.head.probs(features, len(self.codes))

    def mix_head(self, probs: np.ndarray, head: np.ndarray, share: float, scoped: bool = False) -> np.ndarray:
        """A classifier's probabilities with ``share`` of the hand head's (``head``: :meth:`head_probs`, the same
        class order). ``scoped``: the head only shares out the mass the classifier gave the classes it was
        fitted on, and every other class keeps its probability (a head knows nothing of the others)."""
        if not scoped:
            return (1.0 - share) * probs + share * head
        known = np.zeros(probs.shape[1], bool)
        known[self.head.classes] = True
        mass = probs[:, known].sum(1, keepdims=True)
        out = probs.copy()
        out[:, known] = (1.0 - share) * probs[:, known] + share * head[:, known] * mass
        return out

    def similarity(self, features: np.ndarray, absent: str = "zero") -> np.ndarray:
        """``(N, C)``: each character's cosine similarity to the nearest remembered glyph of every class (clipped
        at 0). A class the memory holds no glyph of gets 0 (``absent="zero"``) or the character's median
        similarity to the classes it holds (``"typical"``: a memory then says nothing about a class it does not
        know, where 0 counts as evidence against it)."""
        out = np.zeros((len(features), len(self.codes)), np.float32)
        if len(features) and len(self):
            # in float64, so the result does not depend on how many threads the BLAS splits the product over
            # (float32 sums in another order differ in the last bit; a batch on Ray must write what a local one does)
            sims = (features.astype(np.float64) @ self._features64.T).astype(np.float32)
            held = np.maximum(np.maximum.reduceat(sims, self._starts, axis=1), 0.0)
            if absent == "typical":
                out[:] = np.median(held, axis=1, keepdims=True)
            out[:, self._present] = held
        return out

    def check(self, classifier: OnnxClassifier, path: str | Path = "memory") -> None:
        if self.fingerprint != classifier.fingerprint or self.codes != classifier.codes:
            raise DataError(path, f"built for another classifier than {classifier.path.name} "
                                  "(rebuild it with `kuzushiji memory`)")

    def save(self, path: str | Path) -> Path:
        from .io.atomic import atomic_open

        path = Path(path)
        meta = {"format": FORMAT, "codes": self.codes, "fingerprint": self.fingerprint, "sources": self.sources}
        head = {} if self.head is None else {"head_weight": self.head.weight, "head_bias": self.head.bias,
                                             "head_classes": self.head.classes.astype(np.int32)}
        with atomic_open(path, "wb") as f:
            np.savez_compressed(f, features=self.features.astype(np.float16), labels=self.labels.astype(np.int32),
                                meta=np.array(json.dumps(meta, ensure_ascii=False)), **head)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "GlyphMemory":
        from .io.arrays import check_npz

        path = Path(path)
        if not path.is_file():
            raise DataError(path, "file not found")
        check_npz(path, max_bytes=1 << 30)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if not isinstance(meta, dict) or not isinstance(meta.get("codes"), list):
                    raise ValueError("meta is not a glyph memory's")
                f, y = z["features"].astype(np.float32), z["labels"].astype(np.int64)
                head = HandHead(z["head_weight"].astype(np.float32), z["head_bias"].astype(np.float32),
                                z["head_classes"].astype(np.int64)) if "head_weight" in z.files else None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(path, f"not a glyph memory ({e.__class__.__name__})") from None
        if meta.get("format") != FORMAT or f.ndim != 2 or len(f) != len(y) or \
                (len(y) and not 0 <= y.min() <= y.max() < len(meta.get("codes", []))):
            raise DataError(path, "not a glyph memory (wrong format or inconsistent arrays)")
        if head is not None:
            k = head.classes
            if head.weight.shape != (f.shape[1], len(k)) or head.bias.shape != k.shape or \
                    (len(k) and not 0 <= k.min() <= k.max() < len(meta["codes"])):
                raise DataError(path, "not a glyph memory (its hand head does not fit its features or classes)")
        f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-6)  # float16 storage rounding
        return cls(f, y, list(meta["codes"]), str(meta["fingerprint"]), list(meta.get("sources", [])), head)
