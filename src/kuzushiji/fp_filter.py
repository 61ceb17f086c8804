"""The false-positive filter (3rd place, Kaggle 2019): a gradient-boosted model that looks at each
recognized character with its page around it and says how likely the reading is right.

Features of a box: detection score, the chosen candidate's probability, top-1 probability and margin
over top-2, entropy, whether the language model overrode the classifier, the language model's
log-probability of the chosen character in its column, size and aspect against the page's median box,
its column's length and its place in the column, page position, overlap with and distance to its
neighbours; and what the probabilities were made of: the chosen character's probability before the glyph
memory and the prior, the share of ensemble members whose own top-1 it is, and its glyph-memory similarity.
Training labels: whether the character scores as a true positive. The model is LightGBM (the mean of a few
seeds' boosters: the filter of 3 pages otherwise moves by a point of F1 between seeds),
stored with its threshold and feature names in one JSON file; ``lightgbm`` is needed only where a
filter is trained or used.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import DataError
from .io.atomic import atomic_write_text

FEATURES = ("det_score", "chosen_prob", "top1_prob", "margin", "entropy", "lm_override", "lm_logprob",
            "rel_w", "rel_h", "aspect", "rel_area", "column_len", "column_pos", "page_x", "page_y",
            "max_iou", "neighbours", "nearest", "raw_prob", "members_agree", "memory_sim")


class Evidence(NamedTuple):
    """What a box's class probabilities were made of: the classifiers' averaged probabilities before the glyph
    memory and the prior ``(N, C)``, each classifier's own top-1 class ``(M, N)`` and the memory's similarities
    ``(N, C)`` (None without a memory)."""
    raw: np.ndarray
    member_top1: np.ndarray
    memory_sim: np.ndarray | None


def box_features(det: np.ndarray, probs: np.ndarray, top: np.ndarray, choice: np.ndarray,
                 columns: list[list[int]], lm_logprob: np.ndarray, width: int, height: int,
                 evidence: Evidence | None = None) -> np.ndarray:
    """``(N, len(FEATURES))`` float32 for ``N`` boxes ``det`` (x, y, w, h, score) with class ``probs``,
    top-k candidate indices ``top``, the chosen candidate per box ``choice``, its LM log-probability and the
    ``evidence`` behind ``probs`` (None: ``probs`` are one classifier's own, no memory)."""
    n = len(det)
    f = np.zeros((n, len(FEATURES)), np.float32)
    if n == 0:
        return f
    x, y, w, h, s = (det[:, i].astype(np.float64) for i in range(5))
    sp = -np.sort(-probs, axis=1)[:, :2] if probs.shape[1] > 1 else np.c_[probs, np.zeros(n)]
    cls = top[np.arange(n), choice]
    chosen = probs[np.arange(n), cls]
    ev = evidence or Evidence(probs, probs.argmax(1)[None], None)
    mw, mh = np.median(w), np.median(h)
    col_len, col_pos = np.zeros(n), np.zeros(n)
    for idx in columns:
        col_len[idx] = len(idx)
        col_pos[idx] = np.arange(len(idx)) / max(len(idx) - 1, 1)
    x1, y1, area = x + w, y + h, w * h
    iw = np.clip(np.minimum(x1[:, None], x1[None]) - np.maximum(x[:, None], x[None]), 0, None)
    ih = np.clip(np.minimum(y1[:, None], y1[None]) - np.maximum(y[:, None], y[None]), 0, None)
    inter = iw * ih
    iou = inter / (area[:, None] + area[None] - inter + 1e-9)
    np.fill_diagonal(iou, 0)
    cx, cy = x + w / 2, y + h / 2
    dist = np.hypot(cx[:, None] - cx[None], cy[:, None] - cy[None])
    np.fill_diagonal(dist, np.inf)
    cols = [s, chosen, sp[:, 0], sp[:, 0] - sp[:, 1], -(probs * np.log(probs + 1e-9)).sum(1), choice != 0,
            lm_logprob, w / mw, h / mh, w / h, area / (mw * mh), col_len, col_pos, cx / width, cy / height,
            iou.max(1), (dist < mh).sum(1), np.minimum(dist.min(1), 10 * mh) / mh, ev.raw[np.arange(n), cls],
            (ev.member_top1 == cls[None]).mean(0), 0.0 if ev.memory_sim is None else ev.memory_sim[np.arange(n), cls]]
    for i, c in enumerate(cols):
        f[:, i] = c
    return f


class FPFilter:
    """A trained filter: ``keep(features)`` -> boolean mask; ``predict`` -> probability a box is right."""

    def __init__(self, model_texts: str | list[str], threshold: float, features: tuple[str, ...] = FEATURES,
                 det_threshold: float | None = None) -> None:
        import lightgbm as lgb

        if tuple(features) != FEATURES:
            raise ValueError(f"filter was trained on features {features}, this version computes {FEATURES}")
        self.model_texts = [model_texts] if isinstance(model_texts, str) else list(model_texts)
        self.boosters = [lgb.Booster(model_str=t) for t in self.model_texts]
        self.threshold = float(threshold)
        self.det_threshold = det_threshold  # the detection threshold its training boxes were cut at

    def predict(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0, np.float32)
        # one thread: a page has a few hundred boxes, and OpenMP threads would compete with onnxruntime's
        return np.mean([b.predict(features, num_threads=1) for b in self.boosters], axis=0).astype(np.float32)

    def keep(self, features: np.ndarray, max_drop: float = 1.0) -> np.ndarray:
        """Boxes whose probability of being right reaches the threshold; but on a page where that would drop
        more than ``max_drop`` of the boxes (a page unlike the filter's training pages: on those it drops a few
        per cent, on other books half), only that share, the least likely, is dropped."""
        p = self.predict(features)
        keep = p >= self.threshold
        most = int(max_drop * len(p))
        if (~keep).sum() > most:
            keep = np.ones(len(p), bool)
            keep[np.argsort(p, kind="stable")[:most]] = False
        return keep

    def save(self, path: str | Path) -> None:
        atomic_write_text(Path(path), json.dumps({"kind": "fp_filter", "features": list(FEATURES),
                                                  "threshold": self.threshold, "det_threshold": self.det_threshold,
                                                  "models": self.model_texts}))

    @classmethod
    def load(cls, path: str | Path) -> "FPFilter":
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            models = d["models"] if "models" in d else d["model"]  # one booster: a filter saved before seeds
            return cls(models, d["threshold"], tuple(d["features"]), d.get("det_threshold"))
        except (OSError, ValueError, KeyError) as e:
            raise DataError(path, f"not a false-positive filter ({e})") from None


SEEDS = 5
PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 20,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
          "verbose": -1, "seed": 1, "num_threads": 1}


def train_filter(x: np.ndarray, y: np.ndarray, rounds: int = 200, threshold: float = 0.5,
                 det_threshold: float | None = None, seeds: int = SEEDS) -> FPFilter:
    """Fit LightGBM (``seeds`` boosters, averaged) on box features ``x`` and 0/1 labels ``y`` (1: the character
    scores as correct) of boxes detected down to ``det_threshold``; the recognizer then detects down to it too and
    lets the filter choose."""
    import lightgbm as lgb

    data = lgb.Dataset(x, y.astype(np.float32), feature_name=list(FEATURES), free_raw_data=False)
    texts = [lgb.train({**PARAMS, "seed": s}, data, rounds).model_to_string() for s in range(1, seeds + 1)]
    return FPFilter(texts, threshold, det_threshold=det_threshold)


def best_threshold(p: np.ndarray, correct: np.ndarray, n_truth: int,
                   grid: tuple[float, ...] = tuple(np.round(np.arange(0.0, 0.75, 0.05), 2))) -> float:
    """The filter threshold maximising F1 of the kept boxes (``correct``: true positives before filtering)."""
    def f1(t: float) -> float:
        k = p >= t
        tp = int((correct & k).sum())
        return 2 * tp / max(int(k.sum()) + n_truth, 1)
    return max(grid, key=f1)
