"""The page recognizer: detection -> crops -> classification -> reading order -> ``Page``.

Runs on numpy + onnxruntime only; the default models are bundled in ``kuzushiji/assets``.
"""
from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError
from .inference.classifier import OnnxClassifier
from .inference.detector import OnnxDetector
from .io.image import as_gray, read_page
from .language_model import NgramLM
from .reading_order import group_columns
from .structures import Candidate, Char, CharBox, Column, Page
from .io.crop import crop_box
from .vocab import RARE, code_to_char


def asset_path(name: str) -> Path:
    return Path(str(resources.files("kuzushiji") / "assets" / name))


class Recognizer:
    """``Recognizer().recognize(image)`` -> :class:`Page` with characters, candidates, columns, text."""

    def __init__(self, detector: str | Path | None = None, classifier: str | Path | None = None,
                 threads: int = 0, det_threshold: float | None = None, top_k: int = 5,
                 min_score: float = 0.0, lm: str | Path | None = None, lm_weight: float | None = None,
                 tta: bool = False, det_scales: tuple[float, ...] = (1.0,)) -> None:
        det = Path(detector) if detector else asset_path("detector.onnx")
        cls = Path(classifier) if classifier else asset_path("classifier.onnx")
        for p in (det, cls):
            if not p.is_file():
                raise DataError(p, "model file not found (run `make models` or pass --detector/--classifier)")
        self.detector = OnnxDetector(det, threads=threads)
        if det_threshold is not None:
            self.detector.threshold = check_threshold(det_threshold)
        self.classifier = OnnxClassifier(cls, threads=threads)
        self.top_k = top_k
        self.tta = tta
        self.det_scales = tuple(det_scales)  # several: multi-scale detection with box fusion
        self.min_score = min_score
        lm_path = Path(lm) if lm else asset_path("lm.npz")
        self.lm = NgramLM.load(lm_path) if lm_path.is_file() and lm_weight != 0 else None
        self.lm_weight = 0.0
        if self.lm is not None:
            self.lm_weight = float(lm_weight if lm_weight is not None else self.lm.weight)
            unk = len(self.lm.codes) - 1
            self._lm_index = {c: self.lm.index.get(c, unk) for c in self.classifier.codes}

    def _classify(self, gray: np.ndarray, det: np.ndarray) -> np.ndarray:
        """Class probabilities of the detected boxes; with TTA, averaged over two crop framings."""
        size = self.classifier.size
        if len(det) == 0:
            return np.zeros((0, len(self.classifier.codes)), np.float32)
        boxes = [CharBox("", float(x), float(y), float(w), float(h)) for x, y, w, h, _ in det]
        probs = self.classifier.predict(np.stack([crop_box(gray, b, size) for b in boxes]))
        if self.tta:
            probs = 0.5 * (probs + self.classifier.predict(np.stack([crop_box(gray, b, size, pad=0.16) for b in boxes])))
        return probs

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
        det = self.detector(gray, scales=self.det_scales)
        timings["detect"] = time.perf_counter() - t

        t = time.perf_counter()
        probs = self._classify(gray, det)
        timings["classify"] = time.perf_counter() - t

        t = time.perf_counter()
        codes = self.classifier.codes
        k = min(self.top_k, len(codes))
        top = np.argsort(-probs, axis=1)[:, :k] if len(probs) else np.zeros((0, k), np.int64)
        columns_idx = group_columns(det[:, :4])
        choice = np.zeros(len(det), np.int64)  # which candidate each character takes
        if self.lm is not None and self.lm_weight > 0:
            for idx in columns_idx:
                ci = np.array([[self._lm_index[codes[j]] for j in top[i]] for i in idx])
                cl = np.log(np.take_along_axis(probs[idx], top[idx], 1) + 1e-9)
                choice[idx] = self.lm.viterbi(ci, cl, self.lm_weight)
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
                if best is None or s * best.prob < self.min_score:
                    continue
                members.append(len(chars))
                chars.append(Char((x, y, w, h), best.code, best.char, s * best.prob, s, cands, ci))
            if members:
                xs = np.array([chars[m].box for m in members], np.float32)
                x0, y0 = xs[:, 0].min(), xs[:, 1].min()
                columns.append(Column(members, (float(x0), float(y0), float((xs[:, 0] + xs[:, 2]).max() - x0),
                                                float((xs[:, 1] + xs[:, 3]).max() - y0))))
        timings["layout"] = time.perf_counter() - t
        return Page(image_id, W, H, chars, columns, {k: round(v, 4) for k, v in timings.items()}, source)


def check_threshold(t: float) -> float:
    """A detection threshold must be a number strictly between 0 and 1."""
    t = float(t)
    if not 0.0 < t < 1.0:  # also false for NaN
        raise ValueError(f"detection threshold must lie strictly between 0 and 1, got {t}")
    return t
