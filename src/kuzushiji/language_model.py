"""A character n-gram language model (bigram or trigram) over the classifier's classes, and Viterbi
rescoring of each column's top-k candidates (reading order is known, so neighbours constrain each other).

The model is built from real transcriptions; ``exclude`` drops every text line that shares an 8-gram
with the excluded texts (the evaluation book), so scores on that book stay honest.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

def _ngrams(s: str, n: int = 8) -> set[str]:
    return {s[i: i + n] for i in range(len(s) - n + 1)}


def filter_lines(lines: list[str], exclude: list[str], n: int = 8) -> list[str]:
    banned: set[str] = set()
    for e in exclude:
        banned |= _ngrams(e, n)
    excluded = set(exclude)
    return [l for l in lines if not (_ngrams(l, n) & banned) and l not in excluded]


class NgramLM:
    """Character n-gram model (order 2 or 3) over the classifier's classes (+ an unknown class):
    interpolated absolute discounting, backed off to Kneser-Ney continuation unigrams.

    ``P(c | a b) = max(n(abc) - d3, 0) / n(ab) + g(ab) P(c | b)``, ``P(c | b)`` likewise down to the
    continuation unigram, which a uniform floor keeps above zero. Column starts are a context of their own.
    """

    def __init__(self, codes: list[str], tables: dict[str, np.ndarray], order: int, weight: float = 0.5) -> None:
        self.codes = codes  # the last code is '<unk>': characters outside the model
        self.index = {c: i for i, c in enumerate(codes)}
        self.order = order
        self.t = tables  # p1; k2, a2; c2, g2; k3, a3; c3, g3 (sorted int64 keys, float32 values)
        self.weight = weight  # default rescoring weight, chosen when the model is built
        self.B = len(codes) + 1  # key base; index len(codes) is the start of a column

    @classmethod
    def fit(cls, codes: list[str], lines: list[str], order: int = 3) -> "NgramLM":
        codes = [c for c in codes if c.startswith("U+")] + ["<unk>"]
        C, B = len(codes), len(codes) + 1
        S = C  # start-of-column context
        idx = {chr(int(c[2:], 16)): i for i, c in enumerate(codes) if c.startswith("U+")}
        seqs = [np.array([S, S] + [idx.get(ch, C - 1) for ch in line], np.int64) for line in lines if line]
        big = np.concatenate([s[1:-1] * B + s[2:] for s in seqs])
        grams = {2: big}
        if order >= 3:
            grams[3] = np.concatenate([(s[:-2] * B + s[1:-1]) * B + s[2:] for s in seqs])
        t: dict[str, np.ndarray] = {}
        # continuation unigram: in how many distinct left contexts each character occurs
        ub = np.unique(big)
        cont = np.bincount(ub % B, minlength=C)[:C].astype(np.float64) + 0.5
        t["p1"] = (cont / cont.sum()).astype(np.float32)
        for n, keys in grams.items():
            k, cnt = np.unique(keys, return_counts=True)
            n1, n2 = (cnt == 1).sum(), (cnt == 2).sum()
            d = n1 / max(n1 + 2 * n2, 1) if n1 else 0.5
            ctx = k // B
            cu, inv = np.unique(ctx, return_inverse=True)
            tot = np.bincount(inv, weights=cnt)
            types = np.bincount(inv)
            t[f"k{n}"], t[f"a{n}"] = k, ((cnt - d).clip(0) / tot[inv]).astype(np.float32)
            t[f"c{n}"], t[f"g{n}"] = cu, (d * types / tot).astype(np.float32)
        return cls(codes, t, order)

    @staticmethod
    def _lookup(keys: np.ndarray, table: np.ndarray, values: np.ndarray, default: float) -> np.ndarray:
        pos = np.searchsorted(table, keys).clip(0, max(len(table) - 1, 0))
        hit = table[pos] == keys if len(table) else np.zeros(keys.shape, bool)
        return np.where(hit, values[pos] if len(table) else default, default)

    def logprob(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """``log P(c | a b)`` for broadcastable index arrays (``a`` ignored by a bigram model)."""
        B, t = self.B, self.t
        a, b, c = np.broadcast_arrays(np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(c, np.int64))
        p = self._lookup(b * B + c, t["k2"], t["a2"], 0.0) + self._lookup(b, t["c2"], t["g2"], 1.0) * t["p1"][c]
        if self.order >= 3:
            ab = a * B + b
            p = self._lookup(ab * B + c, t["k3"], t["a3"], 0.0) + self._lookup(ab, t["c3"], t["g3"], 1.0) * p
        return np.log(np.maximum(p, 1e-12))

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, codes=np.array(self.codes), order=np.int64(self.order),
                            weight=np.float32(self.weight), **self.t)

    @classmethod
    def load(cls, path: str | Path) -> "NgramLM":
        z = np.load(path)
        tables = {k: z[k] for k in z.files if k not in ("codes", "order", "weight")}
        return cls(z["codes"].tolist(), tables, int(z["order"]), float(z["weight"]))

    def viterbi(self, cand_idx: np.ndarray, cand_logp: np.ndarray, weight: float) -> np.ndarray:
        """Best path through a column: ``cand_idx``/``cand_logp`` are ``(T, K)`` class indices and
        classifier log-probabilities. Returns the chosen candidate position (0..K-1) per step.
        The state is the last two choices, so the trigram context is exact."""
        T, K = cand_idx.shape
        if T == 0:
            return np.zeros(0, np.int64)
        S = len(self.codes)
        # score[i, j]: best path ending with candidate i at t-1 and j at t (t-1 = start for t = 0)
        score = np.full((K, K), -np.inf)
        score[0] = cand_logp[0] + weight * self.logprob(S, S, cand_idx[0])
        prev_idx = np.full(K, S)
        back = np.zeros((T, K, K), np.int64)
        for t in range(1, T):
            lp = self.logprob(prev_idx[:, None, None], cand_idx[t - 1][None, :, None], cand_idx[t][None, None, :])
            tot = score[:, :, None] + weight * lp  # (i at t-2, j at t-1, k at t)
            back[t] = tot.argmax(0)
            score = tot.max(0) + cand_logp[t][None, :]
            prev_idx = cand_idx[t - 1]
        path = np.zeros(T, np.int64)
        j, k = np.unravel_index(int(score.argmax()), score.shape)
        path[-1] = k
        if T > 1:
            path[-2] = j
        for t in range(T - 1, 1, -1):
            i = back[t, path[t - 1], path[t]]
            path[t - 2] = i
        return path
