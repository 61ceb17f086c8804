"""A character bigram language model over the classifier's classes, and Viterbi rescoring of each
column's top-k candidates (reading order is known, so neighbouring characters constrain each other).

The model is built from real transcriptions; ``exclude`` drops every text line that shares an 8-gram
with the excluded texts (the evaluation book), so scores on that book stay honest.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

BOS = "<s>"


def _ngrams(s: str, n: int = 8) -> set[str]:
    return {s[i: i + n] for i in range(len(s) - n + 1)}


def filter_lines(lines: list[str], exclude: list[str], n: int = 8) -> list[str]:
    banned: set[str] = set()
    for e in exclude:
        banned |= _ngrams(e, n)
    excluded = set(exclude)
    return [l for l in lines if not (_ngrams(l, n) & banned) and l not in excluded]


class BigramLM:
    """log P(c | prev) over ``codes`` (+ an unknown class), interpolated with unigrams."""

    def __init__(self, codes: list[str], logp: np.ndarray, weight: float = 0.5) -> None:
        self.codes = codes  # the last code is '<unk>': characters outside the model
        self.index = {c: i for i, c in enumerate(codes)}
        self.logp = logp  # (C + 1, C): row C is the start of a column
        self.weight = weight  # default rescoring weight, tuned when the model is built

    @classmethod
    def fit(cls, codes: list[str], lines: list[str], mix: float = 0.7, k: float = 0.1) -> "BigramLM":
        codes = [c for c in codes if c.startswith("U+")] + ["<unk>"]
        C = len(codes)
        idx = {chr(int(c[2:], 16)): i for i, c in enumerate(codes) if c.startswith("U+")}
        big = np.zeros((C + 1, C), np.float64)
        for line in lines:
            prev = C
            for ch in line:
                j = idx.get(ch)
                if j is None:
                    prev = C
                    continue
                big[prev, j] += 1
                prev = j
        uni = big.sum(0) + k
        uni /= uni.sum()
        rows = big.sum(1, keepdims=True)
        cond = np.where(rows > 0, big / np.maximum(rows, 1), uni[None])
        p = mix * cond + (1 - mix) * uni[None]
        return cls(codes, np.log(p).astype(np.float16))

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, codes=np.array(self.codes), logp=self.logp, weight=np.float32(self.weight))

    @classmethod
    def load(cls, path: str | Path) -> "BigramLM":
        z = np.load(path)
        return cls(z["codes"].tolist(), z["logp"], float(z["weight"]))

    def viterbi(self, cand_idx: np.ndarray, cand_logp: np.ndarray, weight: float) -> np.ndarray:
        """Best path through a column: ``cand_idx``/``cand_logp`` are ``(T, K)`` class indices and
        classifier log-probabilities. Returns the chosen candidate position (0..K-1) per step."""
        T, K = cand_idx.shape
        if T == 0:
            return np.zeros(0, np.int64)
        lp = self.logp.astype(np.float32)
        C = lp.shape[1]
        score = cand_logp[0] + weight * lp[C, cand_idx[0]]
        back = np.zeros((T, K), np.int64)
        for t in range(1, T):
            trans = lp[cand_idx[t - 1][:, None], cand_idx[t][None, :]]  # (K, K)
            tot = score[:, None] + weight * trans
            back[t] = tot.argmax(0)
            score = tot.max(0) + cand_logp[t]
        path = np.zeros(T, np.int64)
        path[-1] = int(score.argmax())
        for t in range(T - 1, 0, -1):
            path[t - 1] = back[t, path[t]]
        return path
