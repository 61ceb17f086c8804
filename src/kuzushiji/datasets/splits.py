"""Splits by book: pages of one book share paper, hand and layout, so they never straddle a split."""
from __future__ import annotations

import random
import re
from typing import Sequence


def book_id(page_id: str) -> str:
    """``100241706_00004_2`` -> ``100241706``; ``200014740-00017_1`` -> ``200014740``;
    ``hnsd006-026`` -> ``hnsd00000`` style volumes map to their book (``hnsd``)."""
    head = re.split(r"[_-]", page_id, maxsplit=1)[0]
    m = re.fullmatch(r"([a-z]+)\d{3}", head)
    return m.group(1) if m else head


def split_by_book(page_ids: Sequence[str], val_fraction: float = 0.2, seed: int = 0,
                  val_books: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """Return ``(train_ids, val_ids)`` with whole books on each side."""
    books = sorted({book_id(p) for p in page_ids})
    if val_books is None:
        rng = random.Random(seed)
        shuffled = books[:]
        rng.shuffle(shuffled)
        n_val = max(1, round(len(books) * val_fraction)) if len(books) > 1 else 0
        val_books = shuffled[:n_val]
    vb = set(val_books)
    train = [p for p in page_ids if book_id(p) not in vb]
    val = [p for p in page_ids if book_id(p) in vb]
    return train, val


def leave_one_out(page_ids: Sequence[str]) -> list[tuple[list[str], str]]:
    """Leave-one-page-out folds within a book: ``[(train_ids, held_out_id), ...]``."""
    return [([q for q in page_ids if q != p], p) for p in page_ids]
