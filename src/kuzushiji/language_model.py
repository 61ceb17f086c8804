"""A character n-gram language model (order 2 to 5) over the classifier's classes, and Viterbi
rescoring of each column's top-k candidates (reading order is known, so neighbours constrain each other).

The model is built from real transcriptions; ``exclude`` drops every text line that shares an 8-gram
with the excluded texts (the evaluation book), so scores on that book stay honest.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError

MAX_ORDER = 5


def _keys(seq: np.ndarray, n: int, pad: int, B: int) -> np.ndarray:
    """The n-gram keys of a start-padded sequence: one per real character, its n-1 predecessors in base B."""
    k = np.zeros(len(seq) - pad, np.int64)
    for j in range(n):
        k = k * B + seq[pad - n + 1 + j: len(seq) - n + 1 + j]
    return k


def _ngrams(s: str, n: int = 8) -> set[str]:
    return {s[i: i + n] for i in range(len(s) - n + 1)}


def filter_lines(lines: list[str], exclude: list[str], n: int = 8) -> list[str]:
    banned: set[str] = set()
    for e in exclude:
        banned |= _ngrams(e, n)
    excluded = set(exclude)
    return [l for l in lines if not (_ngrams(l, n) & banned) and l not in excluded]


class NgramLM:
    """Character n-gram model (order 2 to 5) over the classifier's classes (+ an unknown class):
    interpolated absolute discounting, backed off to Kneser-Ney continuation unigrams.

    ``P(c | h) = max(n(h c) - d_n, 0) / n(h) + g(h) P(c | h')`` with ``h'`` the history without its oldest
    character, down to the continuation unigram, which a uniform floor keeps above zero. Column starts are a
    context of their own.
    """

    def __init__(self, codes: list[str], tables: dict[str, np.ndarray], order: int, weight: float = 0.5) -> None:
        self.codes = codes  # the last code is '<unk>': characters outside the model
        self.index = {c: i for i, c in enumerate(codes)}
        self.order = order
        self.t = tables  # p1; for n = 2..order: kn, an (n-gram keys, discounted probabilities), cn, gn (contexts, back-off weights)
        self.weight = weight  # default rescoring weight, chosen when the model is built
        self.B = len(codes) + 1  # key base; index len(codes) is the start of a column

    @classmethod
    def fit(cls, codes: list[str], lines: list[str], order: int = 3) -> "NgramLM":
        if not 2 <= order <= MAX_ORDER:
            raise ValueError(f"order must be 2..{MAX_ORDER}, not {order}")
        codes = [c for c in codes if c.startswith("U+")] + ["<unk>"]
        C, B = len(codes), len(codes) + 1
        if float(B) ** order >= 2 ** 63:
            raise ValueError(f"{C} classes are too many for an order-{order} model's int64 keys")
        S, pad = C, order - 1  # start-of-column context
        idx = {chr(int(c[2:], 16)): i for i, c in enumerate(codes) if c.startswith("U+")}
        seqs = [np.array([S] * pad + [idx.get(ch, C - 1) for ch in line], np.int64) for line in lines if line]
        grams = {n: np.concatenate([_keys(s, n, pad, B) for s in seqs]) for n in range(2, order + 1)}
        t: dict[str, np.ndarray] = {}
        # continuation unigram: in how many distinct left contexts each character occurs
        cont = np.bincount(np.unique(grams[2]) % B, minlength=C)[:C].astype(np.float64) + 0.5
        t["p1"] = (cont / cont.sum()).astype(np.float32)
        for n, keys in grams.items():
            k, cnt = np.unique(keys, return_counts=True)
            n1, n2 = (cnt == 1).sum(), (cnt == 2).sum()
            d = n1 / max(n1 + 2 * n2, 1) if n1 else 0.5
            cu, inv = np.unique(k // B, return_inverse=True)
            tot = np.bincount(inv, weights=cnt)
            t[f"k{n}"], t[f"a{n}"] = k, ((cnt - d).clip(0) / tot[inv]).astype(np.float32)
            t[f"c{n}"], t[f"g{n}"] = cu, (d * np.bincount(inv) / tot).astype(np.float32)
        return cls(codes, t, order)

    @staticmethod
    def _lookup(keys: np.ndarray, table: np.ndarray, values: np.ndarray, default: float) -> np.ndarray:
        pos = np.searchsorted(table, keys).clip(0, max(len(table) - 1, 0))
        hit = table[pos] == keys if len(table) else np.zeros(keys.shape, bool)
        return np.where(hit, values[pos] if len(table) else default, default)

    def logprob(self, *ids) -> np.ndarray:
        """``log P(c | history)`` for broadcastable index arrays ``(..., h2, h1, c)``, oldest first; only the
        last ``order`` are used (a start of column is index ``len(codes)``)."""
        B, t = self.B, self.t
        ids = np.broadcast_arrays(*(np.asarray(i, np.int64) for i in ids))
        c = ids[-1]
        p = t["p1"][c]
        ctx = np.zeros_like(c)
        for n in range(2, min(self.order, len(ids)) + 1):
            ctx = ids[-n] * B ** (n - 2) + ctx  # the n-1 characters before c
            p = self._lookup(ctx * B + c, t[f"k{n}"], t[f"a{n}"], 0.0) + self._lookup(ctx, t[f"c{n}"], t[f"g{n}"], 1.0) * p
        return np.log(np.maximum(p, 1e-12))

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, codes=np.array(self.codes), order=np.int64(self.order),
                            weight=np.float32(self.weight), **self.t)

    @classmethod
    def load(cls, path: str | Path) -> "NgramLM":
        """A language model saved by :meth:`save`; a missing or malformed file is a one-line :class:`DataError`."""
        import zipfile

        from .io.arrays import check_npz

        if not Path(path).is_file():
            raise DataError(path, "file not found")
        check_npz(path, max_bytes=1 << 30)
        try:
            with np.load(path, allow_pickle=False) as z:
                tables = {k: z[k] for k in z.files if k not in ("codes", "order", "weight")}
                return cls(z["codes"].tolist(), tables, int(z["order"]), float(z["weight"]))
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(path, f"not a language model ({e.__class__.__name__})") from None

    def viterbi(self, cand_idx: np.ndarray, cand_logp: np.ndarray, weight: float) -> np.ndarray:
        """Best path through a column: ``cand_idx``/``cand_logp`` are ``(T, K)`` class indices and
        classifier log-probabilities. Returns the chosen candidate position (0..K-1) per step.
        The state is the last ``order - 1`` choices, so the n-gram context is exact."""
        T, K = cand_idx.shape
        if T == 0:
            return np.zeros(0, np.int64)
        m = self.order - 1
        # m virtual column starts before the first step; only their candidate 0 is a live state
        idx = np.vstack([np.full((m, K), len(self.codes), np.int64), cand_idx])
        score = np.full((K,) * m, -np.inf)
        score[(0,) * m] = 0.0
        back = []
        for t in range(m, m + T):
            # axis j of the context = the choice at step t - m + j; the last axis = the choice at t
            ctx = [idx[t - m + j].reshape((1,) * j + (K,) + (1,) * (m - j)) for j in range(m)]
            tot = score[..., None] + weight * self.logprob(*ctx, idx[t].reshape((1,) * m + (K,)))
            tot = tot + cand_logp[t - m].reshape((1,) * m + (K,))
            back.append(tot.argmax(0))  # the best choice m steps back, given the last m
            score = tot.max(0)
        choice = np.zeros(m + T, np.int64)  # per extended step (m virtual starts, then the column)
        choice[T:] = np.unravel_index(int(score.argmax()), score.shape)
        for e in range(m + T - 1, m - 1, -1):
            choice[e - m] = back[e - m][tuple(choice[e - m + 1: e + 1])]
        return choice[m:]
