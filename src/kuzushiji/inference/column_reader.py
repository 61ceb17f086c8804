"""The column reader at inference: an exported CRNN (onnxruntime) over column strips, decoded by a CTC prefix beam
search with the language model. Each read character comes with its probability and where along the strip it was
read (for a box estimated where no detected box covers it)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .session import open_session

NEG = -1e30


@dataclass
class ColumnChar:
    cls: int  # class index into the reader's codes
    prob: float  # the emission probability where it was read
    step: int  # the output step (strip row = step * stride) where it was read


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


class OnnxColumnReader:
    """``read(strips)`` -> per strip the characters it holds, top to bottom."""

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        self.path = Path(path)
        self.session, meta = open_session(path, threads, ("codes", "strip_width", "stride"))
        self.codes: list[str] = meta["codes"].split()
        self.width, self.stride = int(meta["strip_width"]), int(meta["stride"])

    def logprobs(self, strip: np.ndarray) -> np.ndarray:
        """``(T, C + 1)`` log-probabilities of one uint8 strip (ink dark, ``width`` wide), blank first."""
        return self.logprobs_batch([strip])[0]

    def logprobs_batch(self, strips: list[np.ndarray], max_pad: float = 1.25) -> list[np.ndarray]:
        """:meth:`logprobs` of several strips, run in batches of similar height (the tallest at most ``max_pad``
        times the shortest; the rest padded with paper, which reads as blanks); each cut to its own steps."""
        out: list[np.ndarray] = [np.zeros((0, len(self.codes) + 1), np.float32)] * len(strips)
        order = sorted(range(len(strips)), key=lambda i: len(strips[i]))
        while order:
            group = [i for i in order if len(strips[i]) <= max_pad * len(strips[order[0]])]
            order = order[len(group):]
            h = -(-max(len(strips[i]) for i in group) // self.stride) * self.stride
            x = np.full((len(group), 1, h, self.width), 255, np.uint8)
            for k, i in enumerate(group):
                x[k, 0, :len(strips[i])] = strips[i]
            z = self.session.run(["logits"], {"strip": 1.0 - x.astype(np.float32) / 255.0})[0]
            for k, i in enumerate(group):
                out[i] = log_softmax(z[k, :-(-len(strips[i]) // self.stride)].astype(np.float32))
        return out

    def read(self, strips: list[np.ndarray], lm=None, lm_index: np.ndarray | None = None, lm_weight: float = 0.0,
             beam: int = 6, bonus: float = 0.0) -> list[list[ColumnChar]]:
        return [decode(lp, lm, lm_index, lm_weight, beam, bonus=bonus) for lp in self.logprobs_batch(strips)]


def decode(logp: np.ndarray, lm=None, lm_index: np.ndarray | None = None, lm_weight: float = 0.0, beam: int = 6,
           per_step: int = 3, skip_blank: float = -1e-2, min_logp: float = -7.0, bonus: float = 0.0
           ) -> list[ColumnChar]:
    """CTC prefix beam search over ``logp`` ``(T, C + 1)`` (blank 0), each new character scored by the language
    model (``lm_index``: class -> LM index) times ``lm_weight``, plus ``bonus`` (against the language model's
    pull towards fewer characters: its log-probabilities are all negative); at most ``per_step`` candidates a step, none
    under exp(``min_logp``) (0.0009). Steps where the blank's probability is above exp(``skip_blank``) (0.99)
    only extend the beams by the blank."""
    use_lm = lm is not None and lm_weight > 0 and lm_index is not None
    start, hist = (len(lm.codes), lm.order - 1) if use_lm else (0, 0)
    # prefix -> [log p ending in blank, log p ending in its last char, emissions (cls, prob, step)]
    beams: dict[tuple, list] = {(): [0.0, NEG, ()]}
    lm_cache: dict[tuple, float] = {}  # (the last characters, the next) -> weighted log P + bonus

    def lm_scores(prefixes: list[tuple], cands: list[int]) -> None:
        """The language model's scores of every candidate after every prefix not yet cached, in one call."""
        need = [(p[len(p) - hist:] if hist else (), c) for p in prefixes for c in cands]
        need = list(dict.fromkeys(k for k in need if k not in lm_cache))
        if not need:
            return
        ctx = np.array([[start] * (hist - len(h)) + [int(lm_index[x]) for x in h] for h, _ in need], np.int64)
        nxt = lm_index[np.array([c for _, c in need], np.int64)]
        lp = lm_weight * lm.logprob(*ctx.T, nxt) + bonus
        lm_cache.update(zip(need, lp.tolist()))

    for t, row in enumerate(logp):
        if row[0] > skip_blank:  # blank: every beam stays as it is
            for v in beams.values():
                v[0], v[1] = _logaddexp(v[0], v[1]) + float(row[0]), NEG
            continue
        top = np.argsort(-row[1:])[:per_step]
        cands = [int(c) for c in top[row[top + 1] >= min_logp]]
        probs = [float(row[c + 1]) for c in cands]
        blank = float(row[0])
        if use_lm:
            lm_scores(list(beams), cands)
        nxt: dict[tuple, list] = {}

        def add(prefix, pb, pnb, em):
            e = nxt.get(prefix)
            if e is None:
                nxt[prefix] = [pb, pnb, em]
                return
            if pnb > e[1]:
                e[2] = em
            e[0], e[1] = _logaddexp(e[0], pb), _logaddexp(e[1], pnb)

        for prefix, (pb, pnb, em) in beams.items():
            total = _logaddexp(pb, pnb)
            add(prefix, total + blank, NEG, em)
            ctx = prefix[len(prefix) - hist:] if hist else ()
            for c, p in zip(cands, probs):
                s = lm_cache[(ctx, c)] if use_lm else bonus
                seen = em + ((c, math.exp(p), t),)
                if prefix and prefix[-1] == c:
                    add(prefix, NEG, pnb + p, em)  # the same character, still being read
                    add(prefix + (c,), NEG, pb + p + s, seen)
                else:
                    add(prefix + (c,), NEG, total + p + s, seen)
        beams = dict(sorted(nxt.items(), key=lambda kv: -_logaddexp(kv[1][0], kv[1][1]))[:beam])
    best = max(beams.values(), key=lambda v: _logaddexp(v[0], v[1]))
    return [ColumnChar(c, p, t) for c, p, t in best[2]]


def _logaddexp(a: float, b: float) -> float:
    """``log(exp(a) + exp(b))`` of two floats (numpy's ufunc is slow on scalars)."""
    if a < b:
        a, b = b, a
    return a if b <= NEG else a + math.log1p(math.exp(b - a))
