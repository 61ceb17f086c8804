"""The page recognizer: detection -> crops -> classification -> reading order -> ``Page``.

Runs on numpy + onnxruntime only; the default models are bundled in ``kuzushiji/assets``.
"""
from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Sequence, Union

import numpy as np
from PIL import Image

from .errors import DataError
from .inference.classifier import OnnxClassifier, softmax
from .fp_filter import Evidence, FPFilter, box_features
from .inference.detector import OnnxDetector, drop_nested, fuse_boxes
from .io.image import as_gray, read_page
from .language_model import NgramLM
from .memory import GlyphMemory
from .reading_order import column_box, group_columns, merge_order, segment_columns
from .structures import Candidate, Char, CharBox, Column, Page
from .io.crop import READ_PAD, crop_box
from .vocab import RARE, code_to_char


BUNDLE = ("detector.onnx", "classifier.onnx", "classifier_2.onnx", "fp_filter.json", "fp_filter_fast.json",
          "lm.npz", "memory.npz", "columns.onnx")  # every file the package ships in ``kuzushiji/assets``


def asset_path(name: str) -> Path:
    return Path(str(resources.files("kuzushiji") / "assets" / name))


def bundle_version() -> str:
    """A fingerprint of the bundled models (SHA-256 of every file in :data:`BUNDLE`, 12 hex digits), or a
    line naming what is missing."""
    import hashlib

    h = hashlib.sha256()
    for name in BUNDLE:
        p = asset_path(name)
        if not p.is_file():
            return f"incomplete, {name} missing"
        h.update(name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


def bundled_asset(name: str) -> Path:
    """A file of the bundle; a one-line :class:`DataError` when the install lost it (never a silent fallback)."""
    p = asset_path(name)
    if not p.is_file():
        raise DataError(p, "bundled model file missing: this install of kuzushiji is incomplete "
                           "(reinstall it; from a checkout, `pip install .` ships every file of kuzushiji/assets)")
    return p


ModelPaths = Union[str, Path, Sequence[Union[str, Path]], None]

# What each mode turns on (measured in bench/accuracy.py; the README's tables). A mode uses its bundled files
# (second classifier, false-positive filter, glyph memory) when they are present and the caller has not passed
# models of their own. crop_pads: the crop framings (padding around the box, a fraction of its longer side) each
# character is classified at; several are averaged. READ_PAD (0.02) rather than the 0.08 of the training crops:
# +5 points top-1 on the dev pages' truth boxes, +1.5 F1 (bench/accuracy.py, README). prior_weight: how much of the
# language model's character frequencies the class probabilities take on (the classifiers are trained
# class-balanced). nested: a box nested this much in a higher-scoring one is dropped (:func:`drop_nested`; README,
# "Nested boxes"). memory: the glyph memory of the first classifier (kuzushiji.memory), memory_weight its vote;
# head_weight: the share of the memory's hand head in each classifier's probabilities (chosen on Genji sides
# 00026_1..00029_2, README "A head for the hand"). filter_max_drop: the most of a page's boxes the filter may drop:
# the 90th percentile of what it drops on its own training pages (5.4 % fast, 5.9 % accurate; on other books it
# dropped up to 64 %, true boxes among them). memory_scope "known": the memory's vote and head say nothing of classes
# it holds no glyph of (a foreign or adapted memory otherwise pulls every reading to its few classes). memory_weight 4
# and the three settings: docs/experiments/unseen_books.md, leave-one-book-out (bench/crossbook.py). reader: fast
# reads box by box; accurate also reads each column whole and takes its text on pages the column reader is sure of
# (Genji held-out CER 0.249 -> 0.147, the other books as before; docs/experiments/column_reader.md).
NESTED = 0.5
MODES: dict[str, dict] = {
    "fast": {"det_scales": (1.0,), "det_shifts": (0.0,), "crop_pads": (READ_PAD,), "prior_weight": 0.5,
             "nested": NESTED, "memory": "memory.npz", "memory_weight": 4.0, "head_weight": 0.2,
             "classifiers": ("classifier_2.onnx",), "fp_filter": "fp_filter_fast.json", "filter_max_drop": 0.05, "memory_scope": "known",
             "reader": "chars"},
    "accurate": {"det_scales": (0.9, 1.0, 1.1), "det_shifts": (0.0,), "crop_pads": (READ_PAD,), "prior_weight": 0.5,
                 "nested": NESTED, "memory": "memory.npz", "memory_weight": 4.0, "head_weight": 0.2,
                 "classifiers": ("classifier_2.onnx",), "fp_filter": "fp_filter.json", "filter_max_drop": 0.05, "memory_scope": "known",
                 "reader": "both"},
}
READERS = ("chars", "columns", "both")
TTA_PADS = (0.0, 0.04)  # ``tta=True``: two framings (measured within 1 point F1 of 0.02 alone)


def _paths(given, default: str) -> list[Path]:
    if given is None:
        return [bundled_asset(default)]
    return [Path(p) for p in ([given] if isinstance(given, (str, Path)) else given)]


class Recognizer:
    """``Recognizer().recognize(image)`` -> :class:`Page` with characters, candidates, columns, text.

    ``mode="fast"`` (default): one detector pass, the bundled two-classifier ensemble and its false-positive
    filter. ``mode="accurate"``: multi-scale detection with box fusion, the same classifiers and the filter
    trained for that (what :data:`MODES` lists; ``fp_filter=False`` keeps every box). Both read with the
    bundled glyph memory (``memory=False``: none; a path: your own, see :mod:`kuzushiji.memory`), its hand head
    (``head_weight=0``: not used) and the language model's character frequencies. Several
    ``detector``/``classifier`` paths make an ensemble: boxes fused, probabilities averaged (the classifiers
    must share their set of classes).
    """

    def __init__(self, detector: ModelPaths = None, classifier: ModelPaths = None,
                 threads: int = 0, det_threshold: float | None = None, top_k: int = 5,
                 min_score: float = 0.0, lm: str | Path | None = None, lm_weight: float | None = None,
                 tta: bool = False, det_scales: tuple[float, ...] | None = None,
                 det_shifts: tuple[float, ...] | None = None, crop_pads: tuple[float, ...] | None = None,
                 prior_weight: float | None = None, mode: str = "fast", fp_filter: str | Path | bool | None = None,
                 memory: str | Path | bool | None = None, memory_weight: float | None = None,
                 nested: float | None = None, head_weight: float | None = None,
                 filter_max_drop: float | None = None, memory_scope: str | None = None, reader: str | None = None,
                 column_reader: str | Path | None = None, column_weak: float = 0.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        m = MODES[mode]
        dets = _paths(detector, "detector.onnx")
        clss = _paths(classifier, "classifier.onnx")
        if classifier is None:
            clss += [bundled_asset(name) for name in m["classifiers"]]
        if fp_filter is None and m["fp_filter"] and detector is None and classifier is None:
            fp_filter = bundled_asset(m["fp_filter"])
        if memory is None and classifier is None:
            memory = bundled_asset(m["memory"])
        for p in dets + clss:
            if not p.is_file():
                raise DataError(p, "model file not found (run `make models` or pass --detector/--classifier)")
        self.mode = mode
        self.detectors = [OnnxDetector(p, threads=threads) for p in dets]
        self.detector = self.detectors[0]
        self.fp_filter = FPFilter.load(fp_filter) if fp_filter else None  # False: none, even in accurate mode
        if det_threshold is None and self.fp_filter is not None and self.fp_filter.det_threshold:
            det_threshold = self.fp_filter.det_threshold  # the filter, not the detector, decides above it
        if det_threshold is not None:
            for d in self.detectors:
                d.threshold = check_threshold(det_threshold)
        self.classifiers = [OnnxClassifier(p, threads=threads) for p in clss]
        self.classifier = self.classifiers[0]
        self.memory = GlyphMemory.load(memory) if memory else None  # False: none
        if self.memory is not None:
            self.memory.check(self.classifier, memory)
        self.memory_weight = float(memory_weight if memory_weight is not None else m["memory_weight"])
        self.head_weight = check_share(head_weight if head_weight is not None else m["head_weight"])
        self._columns = []  # each classifier's class order -> the first's
        for p, c in zip(clss, self.classifiers):
            if set(c.codes) != set(self.classifier.codes):
                raise DataError(p, f"its classes differ from {clss[0].name}'s (an ensemble's classifiers share them)")
            pos = {code: j for j, code in enumerate(c.codes)}
            self._columns.append(np.array([pos[code] for code in self.classifier.codes]))
        self.top_k = top_k
        self.crop_pads = tuple(crop_pads) if crop_pads is not None else (TTA_PADS if tta else m["crop_pads"])
        self.det_scales = tuple(det_scales) if det_scales is not None else m["det_scales"]
        self.det_shifts = tuple(det_shifts) if det_shifts is not None else m["det_shifts"]
        self.nested = float(nested if nested is not None else m["nested"])  # 0: keep nested boxes
        # "known": the memory's vote and head speak only of the classes it holds; "all": absent ones count against
        self.memory_scope = memory_scope or m["memory_scope"]
        if self.memory_scope not in ("known", "all"):
            raise ValueError(f"memory_scope must be 'known' or 'all', not {self.memory_scope!r}")
        # chars: the character pipeline; columns: the column reader (CTC) over each column; both: its text with the
        # detected boxes aligned to it (kuzushiji.column_text)
        reader = reader or m["reader"]
        if reader not in READERS:
            raise ValueError(f"reader must be one of {', '.join(READERS)}, not {reader!r}")
        self.reader = reader
        # reader "both": "columns": the column text is the text, the detected boxes aligned to it; "boxes": the boxes
        # keep their own readings and the column reader adds the characters no box covers (read with p >=
        # min_insert); "best": the same, a box taking the more probable of its two readings; "auto": "columns" on a
        # page the column reader reads with a mean probability of trust_columns or more (a hand it knows), elsewhere
        # the page as the boxes read it, untouched. On the Genji validation block: columns 0.130, best 0.148, boxes
        # 0.165 (chars alone 0.172); the mean probability is 0.74-0.81 on its sides, 0.48-0.57 on the woodblock dev
        # book's pages and 0.32 on 200021869's (docs/experiments/column_reader.md).
        self.both_text = "auto"
        self.trust_columns = 0.65
        self.trust_sample = 4  # "auto" decides on the page's longest columns, and reads the rest only if it trusts
        self.min_insert = 0.5
        # the heat map's peaks from this score up to the detection threshold outline columns the boxes miss
        # (kuzushiji.reading_order.segment_columns); 0: columns from the detected boxes only
        self.column_weak = check_share(column_weak, "column_weak")
        self.column_reader = None
        if reader != "chars":
            from .inference.column_reader import OnnxColumnReader

            self.column_reader = OnnxColumnReader(column_reader or bundled_asset("columns.onnx"), threads=threads)
        # the most of a page's boxes the filter may drop (FPFilter.keep; 1: no cap)
        self.filter_max_drop = check_share(filter_max_drop if filter_max_drop is not None else m["filter_max_drop"],
                                           "filter_max_drop")
        self.min_score = min_score
        self.lm = None
        if lm_weight != 0:
            lm_path = Path(lm) if lm else bundled_asset("lm.npz")
            self.lm = NgramLM.load(lm_path)
        self.lm_weight = 0.0
        if self.lm is not None:
            self.lm_weight = float(lm_weight if lm_weight is not None else self.lm.weight)
            unk = len(self.lm.codes) - 1
            self._lm_index = {c: self.lm.index.get(c, unk) for c in self.classifier.codes}
        self._column_lm_index = None  # the column reader's classes -> the language model's
        if self.lm is not None and self.column_reader is not None:
            self._column_lm_index = np.array([self.lm.index.get(c, unk) for c in self.column_reader.codes])
        # the column reader's beam search: the language model's weight and a bonus a character (which offsets the
        # model's pull towards fewer characters); chosen on the Genji validation block (bench/columns.py)
        self.column_lm_weight, self.column_bonus = (0.7, 4.0) if self.lm is not None else (0.0, 0.0)
        self.prior_weight = float(prior_weight if prior_weight is not None else m["prior_weight"])
        self._log_prior = None  # log character frequency per class, 0 for the most frequent
        if self.lm is not None:
            lp = np.log(np.maximum(self.lm.t["p1"][[self._lm_index[c] for c in self.classifier.codes]], 1e-9))
            self._log_prior = (lp - lp.max()).astype(np.float32)

    def detect(self, gray: np.ndarray) -> np.ndarray:
        """Boxes ``(N, 5)`` (x, y, w, h, score) of one detector, or fused over several detectors, scales and
        horizontal shifts; without nested boxes (``nested``)."""
        return self.detect_with_weak(gray)[0]

    def detect_with_weak(self, gray: np.ndarray, weak: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`detect`, and the heat map's weaker peaks (score from ``weak`` up to the detection threshold) of
        the first detector at the working scale, for finding columns where characters were missed."""
        t = self.detector.threshold
        low = min(weak, t) if weak else t
        several = len(self.detectors) * len(self.det_scales) * len(self.det_shifts) > 1  # boxes of several runs fused
        runs = [r for d in self.detectors
                for r in d.runs(gray, min(low, 0.5 * t) if several else low, self.det_scales, self.det_shifts)]
        base = runs[self.det_scales.index(1.0) * len(self.det_shifts) if 1.0 in self.det_scales else 0]
        if not several:
            boxes = base[base[:, 4] >= t]
        else:
            fused = fuse_boxes([r[r[:, 4] >= 0.5 * t] for r in runs])
            boxes = fused[fused[:, 4] >= t]
        weak_peaks = base[(base[:, 4] >= low) & (base[:, 4] < t)] if weak else np.zeros((0, 5), np.float32)
        return (drop_nested(boxes, self.nested) if self.nested else boxes), weak_peaks

    def classify(self, gray: np.ndarray, det: np.ndarray) -> np.ndarray:
        """Class probabilities of the detected boxes, averaged over the classifiers and crop framings."""
        return self.classify_evidence(gray, det)[0]

    def classify_evidence(self, gray: np.ndarray, det: np.ndarray) -> tuple[np.ndarray, Evidence | None]:
        """:meth:`classify` and what its probabilities were made of (for the false-positive filter)."""
        if len(det) == 0:
            return np.zeros((0, len(self.classifier.codes)), np.float32), None
        return self.combine(*self.read_crops(gray, det))

    def combine(self, member_probs: list[np.ndarray], features: list[np.ndarray | None]
                ) -> tuple[np.ndarray, Evidence]:
        """The classifiers' probabilities (and features) of the same boxes -> each mixed with the memory's hand
        head (``head_weight``), averaged and :meth:`adjust`-ed, with their :class:`Evidence`."""
        a = self.head_weight
        scoped = self.memory_scope == "known"
        if a and self.memory is not None and self.memory.head is not None and features[0] is not None:
            head = self.memory.head_probs(features[0])
            member_probs = [self.memory.mix_head(p, head, a, scoped) for p in member_probs]
        raw = np.mean(member_probs, axis=0)
        sim = None
        if self.memory is not None and features[0] is not None and self.memory_weight:
            sim = self.memory.similarity(features[0], "typical" if scoped else "zero")
        return self.adjust(raw, similarity=sim), Evidence(raw, np.stack([p.argmax(1) for p in member_probs]), sim)

    def adjust(self, probs: np.ndarray, similarity: np.ndarray | None = None) -> np.ndarray:
        """Averaged class probabilities -> the glyph memory's vote (``similarity``: the first classifier's features
        against the memory, :meth:`GlyphMemory.similarity`) and the language model's character frequencies to the
        power ``prior_weight`` (the classifiers learn from class-balanced crops, real text is not balanced),
        renormalised."""
        if len(probs) == 0:
            return probs
        logw = np.zeros(probs.shape, np.float32)
        if similarity is not None:
            logw += self.memory_weight * similarity
        if self._log_prior is not None and self.prior_weight:
            logw += self.prior_weight * self._log_prior
        if not logw.any():
            return probs
        q = probs * np.exp(logw - logw.max(1, keepdims=True))
        return q / q.sum(1, keepdims=True)

    def read_crops(self, gray: np.ndarray, boxes: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Each classifier's class probabilities of ``boxes`` (first classifier's class order, averaged over
        ``crop_pads``) and its unit-length features of the first framing (None for a model without them)."""
        cb = [CharBox("", float(x), float(y), float(w), float(h)) for x, y, w, h in np.asarray(boxes)[:, :4]]
        crops: dict[tuple[int, float], np.ndarray] = {}
        out, features = [], []
        for c, columns in zip(self.classifiers, self._columns):
            probs = np.zeros((len(cb), len(c.codes)), np.float32)
            for i, pad in enumerate(self.crop_pads):
                if (c.size, pad) not in crops:
                    crops[c.size, pad] = np.stack([crop_box(gray, b, c.size, pad=pad) for b in cb])
                z, f = c.run(crops[c.size, pad])
                probs += softmax(z)[:, columns]
                if i == 0:
                    features.append(f)
            out.append(probs / len(self.crop_pads))
        return out, features

    def read_columns(self, det: np.ndarray, probs: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, list[list[int]], np.ndarray]:
        """Top-k candidates, the chosen candidate per box (language model over each column), the columns in
        reading order and the LM log-probability of each chosen character."""
        codes = self.classifier.codes
        k = min(self.top_k, len(codes))
        top = np.argsort(-probs, axis=1)[:, :k] if len(probs) else np.zeros((0, k), np.int64)
        columns_idx = group_columns(det[:, :4])
        choice = np.zeros(len(det), np.int64)
        lm_lp = np.zeros(len(det), np.float32)
        if self.lm is not None and self.lm_weight > 0:
            start = len(self.lm.codes)
            for idx in columns_idx:
                ci = np.array([[self._lm_index[codes[j]] for j in top[i]] for i in idx])
                cl = np.log(np.take_along_axis(probs[idx], top[idx], 1) + 1e-9)
                choice[idx] = self.lm.viterbi(ci, cl, self.lm_weight)
                m = self.lm.order - 1
                seq = np.r_[[start] * m, ci[np.arange(len(idx)), choice[idx]]]
                lm_lp[idx] = self.lm.logprob(*(seq[j: len(seq) - m + j] for j in range(m + 1)))
        return top, choice, columns_idx, lm_lp

    def features(self, det: np.ndarray, probs: np.ndarray, width: int, height: int,
                 evidence: Evidence | None = None) -> np.ndarray:
        """The false-positive filter's features of every box (:func:`kuzushiji.fp_filter.box_features`), in
        reading order: row i is the page's character i when :meth:`assemble` drops none."""
        top, choice, columns_idx, lm_lp = self.read_columns(det, probs)
        order = np.concatenate(columns_idx) if columns_idx else np.zeros(0, np.int64)
        return box_features(det, probs, top, choice, columns_idx, lm_lp, width, height, evidence)[order]

    def assemble(self, image_id: str, width: int, height: int, det: np.ndarray, probs: np.ndarray,
                 timings: dict[str, float] | None = None, source: str = "", evidence: Evidence | None = None) -> Page:
        """Candidates, language model, false-positive filter and reading order -> :class:`Page`."""
        top, choice, columns_idx, lm_lp = self.read_columns(det, probs)
        keep = np.ones(len(det), bool)
        if self.fp_filter is not None and len(det):
            keep = self.fp_filter.keep(box_features(det, probs, top, choice, columns_idx, lm_lp, width, height,
                                                    evidence), self.filter_max_drop)
        codes = self.classifier.codes
        chars: list[Char] = []
        columns: list[Column] = []
        for ci, idx in enumerate(columns_idx):
            members = []
            for i in idx:
                cands = [Candidate(codes[j], code_to_char(codes[j]) if codes[j] != RARE else "〓", float(probs[i, j]))
                         for j in top[i]]
                best = cands[choice[i]]
                if best.code == RARE:
                    best = next((c for c in cands if c.code != RARE), None)
                x, y, w, h, s = (float(v) for v in det[i])
                if best is None or s * best.prob < self.min_score or not keep[i]:
                    continue
                members.append(len(chars))
                chars.append(Char((x, y, w, h), best.code, best.char, s * best.prob, s, cands, len(columns)))
            if members:
                columns.append(Column(members, column_box(np.array([chars[m].box for m in members], np.float32))))
        return Page(image_id, width, height, chars, columns, {k: round(v, 4) for k, v in (timings or {}).items()},
                    source)

    def _read_strips(self, gray: np.ndarray, boxes: list) -> list:
        """The column reader over the column ``boxes`` of a page, decoded with this recognizer's language model."""
        from .column_text import read_columns

        return read_columns(self.column_reader, gray, boxes, self.lm, self._column_lm_index, self.column_lm_weight,
                            self.column_bonus)

    def _read_into(self, gray: np.ndarray, boxes: list, which: list[int], reads: list) -> str | None:
        """Read the columns ``which`` of ``boxes`` into ``reads``; how ``both`` combines the page: ``both_text``,
        or with ``"auto"`` "columns" when the characters read so far have a mean probability of ``trust_columns``
        or more, else None (the page is left to the boxes)."""
        for k, r in zip(which, self._read_strips(gray, [boxes[k] for k in which])):
            reads[k] = r
        if self.both_text != "auto":
            return self.both_text
        probs = [c.prob for r in reads if r is not None for c in r[0]]
        return "columns" if probs and float(np.mean(probs)) >= self.trust_columns else None

    def _read_by_columns(self, gray: np.ndarray, page: Page, det: np.ndarray, weak: np.ndarray) -> Page:
        """``reader="columns"``: the columns the detected boxes and the weak peaks outline, read whole."""
        from .column_text import columns_page

        t = time.perf_counter()
        h = float(np.median(det[:, 3])) if len(det) else 32.0
        grown, new = segment_columns([column_box(det[idx]) for idx in group_columns(det[:, :4])], weak, h)
        boxes = [(grown + new)[k] for k in merge_order(grown, new)]
        page = columns_page(self.column_reader, page, boxes, self._read_strips(gray, boxes), h)
        page.timings["columns"] = time.perf_counter() - t
        page.timings = {k: round(v, 4) for k, v in page.timings.items()}
        return page

    def recognize(self, image: np.ndarray | Image.Image | str | Path, image_id: str | None = None) -> Page:
        """Read one page: a file path, a numpy array (gray, RGB or RGBA; uint8, uint16, bool or float in
        [0, 1] / [0, 255]) or a PIL image. Bad input raises :class:`DataError` naming it."""
        timings: dict[str, float] = {}
        t = time.perf_counter()
        source = ""
        if isinstance(image, (str, Path)):
            image_id = image_id or Path(image).stem
            source = str(image)
            _, gray = read_page(image)
        else:
            gray = as_gray(image, image_id or "array")
        image_id = image_id or "page"
        timings["load"] = time.perf_counter() - t
        H, W = gray.shape
        if H < 32 or W < 32:
            raise DataError(image_id, f"image too small ({W}x{H})")
        t = time.perf_counter()
        det, weak = self.detect_with_weak(gray, self.column_weak if self.column_reader is not None else None)
        timings["detect"] = time.perf_counter() - t
        if self.reader == "columns":  # the column reader alone: no box is classified
            return self._read_by_columns(gray, Page(image_id, W, H, [], [], timings, source), det, weak)
        t = time.perf_counter()
        probs, evidence = self.classify_evidence(gray, det)
        timings["classify"] = time.perf_counter() - t
        t = time.perf_counter()
        page = self.assemble(image_id, W, H, det, probs, source=source, evidence=evidence)
        timings["layout"] = time.perf_counter() - t
        if self.reader == "both":
            from .column_text import merge_page

            t = time.perf_counter()
            h = float(np.median(det[:, 3])) if len(det) else 32.0
            grown, new = segment_columns([c.box for c in page.columns], weak, h)
            boxes = grown + new
            reads: list = [None] * len(boxes)
            first = range(len(boxes))
            if self.both_text == "auto":  # the longest columns first: a page the reader is unsure of stops there
                first = sorted(first, key=lambda k: -boxes[k][3])[:self.trust_sample]
            text_from = self._read_into(gray, boxes, list(first), reads)
            if text_from is not None:  # None: the column reader is unsure of this page, the boxes' reading stays
                self._read_into(gray, boxes, [k for k, r in enumerate(reads) if r is None], reads)
                page = merge_page(self.column_reader, page, grown, reads[:len(grown)], new, reads[len(grown):],
                                  text_from=text_from, min_insert=self.min_insert)
            timings["columns"] = time.perf_counter() - t
        page.timings = {k: round(v, 4) for k, v in timings.items()}
        return page


def check_threshold(t: float) -> float:
    """A detection threshold must be a number strictly between 0 and 1."""
    t = float(t)
    if not 0.0 < t < 1.0:  # also false for NaN
        raise ValueError(f"detection threshold must lie strictly between 0 and 1, got {t}")
    return t


def check_share(a: float, name: str = "head_weight") -> float:
    """A share (the hand head's ``head_weight``, ``filter_max_drop``, ``column_weak``) must be a number from 0 to 1."""
    a = float(a)
    if not 0.0 <= a <= 1.0:  # also false for NaN
        raise ValueError(f"{name} must be between 0 and 1, got {a}")
    return a
