"""Adapting to a book without labels: read its own pages, keep the readings every source of evidence agrees on,
remember those glyphs (a book memory with its hand head, beside the memory it started from), and read again.

A reading is kept when the language model left the classifiers' top-1 as it was, each classifier's own top-1 is that
character, the nearest remembered glyph is of that character (when there is a memory), and its probability reaches
``min_prob``. Such glyphs are the book's own hand, labelled with few mistakes; the most certain few of each character
are remembered, and the next round reads with them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .errors import DataError
from .memory import GlyphMemory


@dataclass
class RoundReport:
    round: int
    pages: int
    boxes: int
    kept: int
    classes: int


def agreed_glyphs(rec, gray: np.ndarray, min_prob: float = 0.5
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The first classifier's features, class indices and probabilities of the page's readings all evidence agrees
    on, and the number of boxes read."""
    det = rec.detect(gray)
    if len(det) == 0:
        return np.zeros((0, 1), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32), 0
    member_probs, features = rec.read_crops(gray, det)
    if features[0] is None:
        raise DataError(rec.classifier.path, "this classifier has no 'features' output: a memory needs them")
    probs, ev = rec.combine(member_probs, features)
    top, choice, _, _ = rec.read_columns(det, probs)
    idx = np.arange(len(det))
    cls = top[idx, choice]
    ok = (choice == 0) & (ev.member_top1 == cls[None]).all(0) & (probs[idx, cls] >= min_prob)
    if ev.memory_sim is not None:
        ok &= ev.memory_sim.argmax(1) == cls
    return features[0][ok], cls[ok], probs[idx, cls][ok], len(det)


def most_certain(labels: np.ndarray, probs: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of at most ``per_class`` readings of each character, the most certain first: a book's frequent
    characters would otherwise outnumber the rest by hundreds and pull the memory's vote and head to them."""
    order = np.lexsort((-probs, labels))
    ranks = np.arange(len(order)) - np.searchsorted(labels[order], labels[order])
    return np.sort(order[ranks < per_class])


def adapt(rec, pages: Iterable[tuple[str, Callable[[], np.ndarray]]], rounds: int = 2, min_prob: float = 0.5,
          base: GlyphMemory | None = None, say: Callable[[str], None] = print, per_class: int = 30) -> GlyphMemory:
    """A memory for ``rec``'s first classifier: ``base`` (None: none) plus the agreed glyphs of ``pages``
    (``(name, load_gray)`` pairs; at most ``per_class`` of a character, :func:`most_certain`), refitted ``rounds``
    times, each round read with the previous one's memory. ``rec.memory`` is left set to the result."""
    pages = list(pages)
    mem = base
    for r in range(1, rounds + 1):
        rec.memory = mem
        feats, labels, probs, boxes, read = [], [], [], 0, 0
        for name, load in pages:
            try:
                f, y, p, n = agreed_glyphs(rec, load(), min_prob)
            except DataError as e:
                say(f"error: {e}")
                continue
            feats.append(f)
            labels.append(y)
            probs.append(p)
            boxes, read = boxes + n, read + 1
        if not read:
            raise DataError("adapt", "no page could be read")
        kept = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        if not len(kept):
            raise DataError("adapt", "no reading was agreed on; nothing to remember")
        pick = most_certain(kept, np.concatenate(probs), per_class)
        book = GlyphMemory(np.concatenate(feats)[pick], kept[pick], list(rec.classifier.codes),
                           rec.classifier.fingerprint, [f"adapted: {read} page(s), round {r}"])
        mem = (base.merged(book) if base is not None else book).with_head()
        say(f"round {r}: {read} page(s), {boxes} boxes, {len(kept)} readings agreed on "
            f"({len(kept) / max(boxes, 1):.0%}) of {len(np.unique(kept))} characters, {len(pick)} remembered")
    rec.memory = mem
    return mem


def base_memory(spec: str | None, classifier) -> GlyphMemory | None:
    """The memory adapting starts from: ``None``/``bundled`` the bundled one (with the bundled classifier),
    ``none`` no memory, else a memory file."""
    from .predictor import bundled_asset

    if spec == "none":
        return None
    path = bundled_asset("memory.npz") if spec in (None, "bundled") else Path(spec)
    mem = GlyphMemory.load(path)
    mem.check(classifier, path)
    return mem
