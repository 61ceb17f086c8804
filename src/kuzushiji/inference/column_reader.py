"""The column reader at inference: an exported CRNN (onnxruntime) over column strips, decoded by a CTC prefix beam
search with the language model. Each read character comes with its probability and where along the strip it was
read (for a box estimated where no detected box covers it)."""
from __future__ import annotations

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
    start = len(lm.codes) if use_lm else 0
    # prefix -> [log p ending in blank, log p ending in its last char, emissions (cls, prob, step)]
    beams: dict[tuple, list] = {(): [0.0, NEG, ()]}
    lm_cache: dict[tuple, np.ndarray] = {}

    def lm_score(prefix: tuple, cands: np.ndarray) -> np.ndarray:
        if not use_lm:
            return np.full(len(cands), bonus)
        key = (prefix[-(lm.order - 1):], cands.tobytes())
        if key not in lm_cache:
            h = [lm_index[c] for c in key[0]]
            h = [start] * (lm.order - 1 - len(h)) + h
            lm_cache[key] = lm_weight * lm.logprob(*[np.full(len(cands), x) for x in h], lm_index[cands]) + bonus
        return lm_cache[key]

    for t, row in enumerate(logp):
        if row[0] > skip_blank:  # blank: every beam stays as it is
            for v in beams.values():
                v[0], v[1] = np.logaddexp(v[0], v[1]) + row[0], NEG
            continue
        cands = np.argsort(-row[1:])[:per_step]
        cands = cands[row[cands + 1] >= min_logp]
        nxt: dict[tuple, list] = {}

        def add(prefix, pb, pnb, em):
            e = nxt.setdefault(prefix, [NEG, NEG, em])
            if pnb > e[1] and em is not None:
                e[2] = em
            e[0], e[1] = np.logaddexp(e[0], pb), np.logaddexp(e[1], pnb)

        for prefix, (pb, pnb, em) in beams.items():
            total = np.logaddexp(pb, pnb)
            add(prefix, total + row[0], NEG, em)
            scores = lm_score(prefix, cands)
            for c, s in zip(cands, scores):
                p = row[c + 1]
                if prefix and prefix[-1] == c:
                    add(prefix, NEG, pnb + p, em)  # the same character, still being read
                    add(prefix + (int(c),), NEG, pb + p + s, em + ((int(c), float(np.exp(p)), t),))
                else:
                    add(prefix + (int(c),), NEG, total + p + s, em + ((int(c), float(np.exp(p)), t),))
        beams = dict(sorted(nxt.items(), key=lambda kv: -np.logaddexp(kv[1][0], kv[1][1]))[:beam])
    best = max(beams.values(), key=lambda v: np.logaddexp(v[0], v[1]))
    return [ColumnChar(c, p, t) for c, p, t in best[2]]
