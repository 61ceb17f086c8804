"""Real labels from known text: align recognized characters with a transcription of the same work.

For each page (in reading order): detect, classify (top-k), order into columns, then align the box
sequence with the text by dynamic programming. Substitutions cost ``-log P(text character)`` under
the classifier, compared by reading (dakuten-insensitive, katakana = hiragana, small = large kana,
hentaigana = their kana, a 字母 kanji = weak evidence for its kana, iteration marks = the repeated
character); gaps skip extra boxes or text the page lacks; merges and splits keep the path on track
where one box covers two characters or one character is cut in two, and spellings where one copy writes a
kanji and the other the kana of its reading (給 / たまふ). A box is accepted only inside a run of matched
boxes whose classifier readings agree with the text, or spelled next to an accepted one.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .structures import Page
from .vocab import (JIBO_WEIGHT, LONGEST, RARE, char_to_code, code_to_char, default_vocabulary, jibo_sources,
                    kanji_readings, reading_key)

REPEAT_MARKS = {"ゝ", "ゞ", "々", "〱", "〲", "ヽ", "ヾ"}
DROP = set("。、．，・△▲○◯「」『』（）()〔〕＄$ 　\t\r\n")


def normalize_text(text: str) -> str:
    """A transcription as the characters a page shows: transcription marks (``＋＋`` = 〱, ``＄``,
    ``△△``, editorial ``。``), spaces and line breaks handled; everything else kept in order."""
    text = text.replace("＋＋＄", "〲").replace("＋＋", "〱")
    return "".join(ch for ch in text if ch not in DROP and not ch.isascii())


@dataclass
class AlignParams:
    gap_box: float = 7.0     # a box the text lacks (noise, furigana, a word this copy adds)
    gap_text: float = 4.0    # a text character the page lacks (missed box, spelling difference)
    merge: float = 5.0       # one box over two text characters (plus its better reading's cost)
    split: float = 5.0       # two boxes over one text character (plus the better box's reading cost)
    floor: float = 1e-3      # probability floor of a substitution (cost -log floor = 6.9)
    jibo_weight: float = JIBO_WEIGHT  # a 字母 kanji candidate counts this much toward its kana
    # acceptance: what each fold of the dev book's leave-one-page-out chose on its other 3 pages (the most labels
    # at precision >= 0.97, among min_run 2-6, window 1-3, min_prob 0.05-0.3; README, "Alignment quality")
    min_run: int = 2         # accepted boxes lie in runs of at least this many consecutive matches
    window: int = 3          # ... with a box agreeing with the text within +-window on each side,
    min_prob: float = 0.05   # agreeing = classifier probability of the text character at least this
    spell: float = 2.0       # a kanji over the kana of its reading, either copy (給 / たまふ), plus the readings' cost
    spell_prob: float = 0.3  # spelled boxes are accepted next to an accepted box, each this sure of its label
    min_page_share: float = 0.05  # a page with fewer accepted boxes than this share keeps none and does not move the walk
    search: int = 6000       # text characters searched beyond the previous page's end
    first_window: int = 50_000  # the first page is looked for in windows of this many characters
    jump: float = 0.005      # cost per character between where a page starts and where the last one ended


@dataclass
class AlignedBox:
    box: tuple[float, float, float, float]
    det_score: float
    pred: str                # the classifier's top reading
    pred_prob: float = 0.0   # and its probability
    text_pos: int = -1       # index into the normalized text, -1 if none
    label: str = ""          # the character it is labelled with ("" if none)
    prob: float = 0.0        # classifier probability of the text character's reading
    status: str = "extra"    # accepted | matched | mismatch | merge | split | spelled | unsure | extra


@dataclass
class PageAlignment:
    image_id: str
    start: int               # text span [start, end) the page was aligned with
    end: int
    boxes: list[AlignedBox] = field(default_factory=list)
    cost: float = 0.0        # alignment cost per box (lower = the page and the text agree better)

    @property
    def accepted(self) -> list[AlignedBox]:
        return [b for b in self.boxes if b.status == "accepted"]


def _box_evidence(page: Page, order: list[int], keys: dict[str, int], jibo_weight: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per box (reading order): probability mass per text reading key ``(N, K)`` and of iteration marks ``(N,)``."""
    jibo = jibo_sources()
    ev = np.zeros((len(order), len(keys)), np.float32)
    rep = np.zeros(len(order), np.float32)
    for r, i in enumerate(order):
        for cand in page.chars[i].candidates:
            if cand.code == RARE:
                continue
            ch = code_to_char(cand.code)
            if ch in REPEAT_MARKS:
                rep[r] += cand.prob
            k = keys.get(reading_key(ch))
            if k is not None:
                ev[r, k] += cand.prob
            for kana in jibo.get(ch, ()):
                k = keys.get(kana)
                if k is not None:
                    ev[r, k] += jibo_weight * cand.prob
    return np.minimum(ev, 1.0), rep


Spellings = dict[int, list[tuple[int, int, float, int]]]  # last box -> (text start, characters, cost, boxes)


def _spellings(page: Page, order: list[int], text: str, tkey: str, ev: np.ndarray, keys: dict[str, int],
               p: AlignParams, min_prob: float = 0.1) -> Spellings:
    """Where one copy writes a kanji and the other a kana spelling of its reading (:func:`kanji_readings`): per
    last box (reading order), the moves ``(text start, text characters, cost, boxes)`` of a kanji box (a candidate
    of probability >= ``min_prob``) over its reading in the text (``tkey``: the text's reading keys), and of kana
    boxes (reading their kana with a geometric-mean probability >= ``min_prob``) over a kanji of the text."""
    readings = kanji_readings()
    out: Spellings = {}
    for r, i in enumerate(order):
        best: dict[tuple[int, int], float] = {}
        for cand in page.chars[i].candidates:
            ch = code_to_char(cand.code) if cand.code != RARE else ""
            if cand.prob < min_prob or ch not in readings:
                continue
            for s in readings[ch]:
                at = tkey.find(s)
                while at >= 0:
                    best[at, len(s)] = min(best.get((at, len(s)), np.inf), -np.log(cand.prob))
                    at = tkey.find(s, at + 1)
        out.setdefault(r, []).extend((j, n, c, 1) for (j, n), c in best.items())
    cost = -np.log(np.maximum(ev, p.floor))  # (boxes, reading keys)
    runs: dict[str, list[tuple[int, float]]] = {}  # reading -> (first box, cost) of the box runs that read it
    for j, ch in enumerate(text):
        for s in readings.get(ch, ()):
            n = len(s)
            if n > len(order):
                continue
            if s not in runs:
                c = sum(cost[k: len(order) - n + 1 + k, keys[s[k]]] for k in range(n))
                runs[s] = [(int(b), float(c[b])) for b in np.nonzero(c <= -n * np.log(min_prob))[0]]
            for b, c in runs[s]:
                out.setdefault(b + n - 1, []).append((j, 1, c, n))
    return out


def _spelled_labels(page: Page, chars: list[int], text: str, tkey: str, ev: np.ndarray, keys: dict[str, int]
                    ) -> list[tuple[str, float]]:
    """Labels of a spelling move's boxes (``chars``, page indices) at ``text`` (from its first character) and their
    probabilities: one kanji box over the text's kana: the box's kanji whose reading the text spells; kana boxes over
    the text's kanji: the kana of the best-read reading of that kanji, each as the box's candidate that reads so.
    Empty when none fits."""
    readings = kanji_readings()
    if len(chars) == 1:
        fits = [c for c in page.chars[chars[0]].candidates if c.code != RARE
                and any(tkey.startswith(s) for s in readings.get(code_to_char(c.code), ()))]
        best = max(fits, key=lambda c: c.prob, default=None)
        return [(code_to_char(best.code), best.prob)] if best else []
    options = [s for s in readings.get(text[:1], ()) if len(s) == len(chars) and all(k in keys for k in s)]
    if not options:
        return []
    s = max(options, key=lambda s: sum(np.log(max(ev[b, keys[k]], 1e-9)) for b, k in enumerate(s)))
    out = []
    for b, (i, k) in enumerate(zip(chars, s)):
        same = [c for c in page.chars[i].candidates if c.code != RARE and reading_key(code_to_char(c.code)) == k]
        label = code_to_char(max(same, key=lambda c: c.prob).code) if same else k
        out.append((label, float(min(ev[b, keys[k]], 1.0))))
    return out


def reading_keys(text: str) -> list[str]:
    """The reading key of every character of a normalized text; an iteration mark reads as the
    character before it."""
    out: list[str] = []
    for ch in text:
        out.append(out[-1] if ch in REPEAT_MARKS and out else reading_key(ch))
    return out


def _text_arrays(text: str, keys: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Reading-key index per text character and whether the character repeats its predecessor."""
    rk = reading_keys(text)
    ids = np.array([keys.setdefault(k, len(keys)) for k in rk], np.int64)
    repeat = np.array([ch in REPEAT_MARKS or (j > 0 and k == rk[j - 1]) for j, (ch, k) in enumerate(zip(text, rk))], bool)
    return ids, repeat


def align_sequence(sub: np.ndarray, p: AlignParams, start_cost: np.ndarray | None = None,
                   spellings: Spellings | None = None) -> tuple[float, list[tuple[str, int, int]]]:
    """Semi-global alignment of N boxes (rows of ``sub``, costs ``(N, M)``) with M text characters: free
    text before and after, every box consumed. ``spellings`` (:func:`_spellings`): per last box, moves
    ``(text start, text characters, cost, boxes)`` where one copy writes a kanji and the other its reading in kana.
    Returns the cost and the operations ``(op, box_index, text_index)`` in order, ``op`` one of match / extra /
    skip / merge / split / spell (each box of the move, with the move's first text character)."""
    N, M = sub.shape
    INF = 1e18
    D = np.full((N + 1, M + 1), INF)
    D[0] = 0.0 if start_cost is None else start_cost  # the page may start anywhere in the text (at a price)
    move = np.zeros((N + 1, M + 1), np.int8)  # 1 match, 2 extra box, 3 merge, 4 split, 5 spell
    spans = np.zeros((N + 1, M + 1), np.int8)  # spell: boxes * 8 + text characters
    gapsrc = np.zeros((N + 1, M + 1), np.int32)  # where a run of skipped text characters began
    j = np.arange(M + 1)
    for i in range(1, N + 1):
        E = np.full(M + 1, INF)
        cand = [(D[i - 1, :-1] + sub[i - 1], 1, 1), (D[i - 1] + p.gap_box, 2, 0)]
        if M >= 2:  # one box over two characters: as costly as its better reading, plus the merge price
            cand.append((D[i - 1, :-2] + np.minimum(sub[i - 1, :-1], sub[i - 1, 1:]) + p.merge, 3, 2))
        if i >= 2:  # two boxes over one character: the better box's reading, plus the split price
            cand.append((D[i - 2, :-1] + np.minimum(sub[i - 2], sub[i - 1]) + p.split, 4, 1))
        for vals, code, shift in cand:
            seg = E[shift:]
            better = vals < seg
            seg[better] = vals[better]
            move[i, shift:][better] = code
        for j0, length, cost, nb in (spellings or {}).get(i - 1, ()):
            v = D[i - nb, j0] + cost + p.spell
            if v < E[j0 + length]:
                E[j0 + length], move[i, j0 + length], spans[i, j0 + length] = v, 5, nb * 8 + length
        # skipped text characters: D[i, j] = min_k E[k] + (j - k) * gap_text
        shifted = E - j * p.gap_text
        best = np.minimum.accumulate(shifted)
        src = np.maximum.accumulate(np.where(shifted <= best, j, 0))
        D[i] = best + j * p.gap_text
        gapsrc[i] = src
    end = int(np.argmin(D[N]))
    cost = float(D[N, end])
    ops: list[tuple[str, int, int]] = []
    i, jj = N, end
    while i > 0:
        k = int(gapsrc[i, jj])
        for t in range(jj - 1, k - 1, -1):
            ops.append(("skip", i, t))
        jj = k
        m = move[i, jj]
        if m == 1:
            ops.append(("match", i - 1, jj - 1))
            i, jj = i - 1, jj - 1
        elif m == 2:
            ops.append(("extra", i - 1, jj))
            i -= 1
        elif m == 3:
            ops.append(("merge", i - 1, jj - 2))
            i, jj = i - 1, jj - 2
        elif m == 5:
            nb, length = divmod(int(spans[i, jj]), 8)
            ops += [("spell", b, jj - length) for b in range(i - 1, i - nb - 1, -1)]
            i, jj = i - nb, jj - length
        else:
            ops.append(("split", i - 2, jj - 1))
            i, jj = i - 2, jj - 1
    ops.reverse()
    return cost, ops


def align_page(page: Page, text: str, offset: int, p: AlignParams, expected: int | None = None) -> PageAlignment:
    """Align one recognized page with ``text`` (already normalized; ``offset`` = its position in the
    whole text) and decide which boxes to accept. With ``expected`` (where the page should start, in
    whole-text positions), starting elsewhere costs ``p.jump`` per character of distance."""
    order = [i for col in page.columns for i in col.chars]
    keys: dict[str, int] = {}
    tids, trep = _text_arrays(text, keys)
    readings = kanji_readings()
    for ch in set(text):  # the kana of the text's kanji's readings: evidence for spellings
        for k in "".join(readings.get(ch, ())):
            keys.setdefault(k, len(keys))
    ev, rep = _box_evidence(page, order, keys, p.jibo_weight)
    prob = ev[:, tids] + rep[:, None] * trep[None, :]  # (N, M)
    sub = -np.log(np.maximum(prob, p.floor))
    boxes = []
    for i in order:
        c = page.chars[i]
        boxes.append(AlignedBox(c.box, c.det_score, c.char, c.candidates[0].prob if c.candidates else 0.0))
    if not order or not text:
        return PageAlignment(page.image_id, offset, offset, boxes)
    start = None if expected is None else p.jump * np.abs(np.arange(len(text) + 1) + offset - expected)
    tkey = "".join(reading_keys(text))
    cost, ops = align_sequence(sub, p, start, _spellings(page, order, text, tkey, ev, keys, p))
    matched: list[tuple[int, int]] = []
    spelled: dict[int, list[int]] = {}  # text start -> its spelled boxes
    for op, i, j in ops:
        if op == "match":
            boxes[i].text_pos, boxes[i].prob = offset + j, float(min(prob[i, j], 1.0))
            boxes[i].status = "matched" if prob[i, j] >= p.min_prob else "mismatch"
            matched.append((i, j))
        elif op in ("merge", "split"):
            boxes[i].status = op
            boxes[i].text_pos = offset + j
            if op == "split":
                boxes[i + 1].status, boxes[i + 1].text_pos = op, offset + j
        elif op == "spell":
            boxes[i].status, boxes[i].text_pos = "spelled", offset + j
            spelled.setdefault(j, []).append(i)
    # runs of consecutive matches (next box with the next text character)
    run_id = np.zeros(len(matched), np.int64)
    for k in range(1, len(matched)):
        same = matched[k][0] == matched[k - 1][0] + 1 and matched[k][1] == matched[k - 1][1] + 1
        run_id[k] = run_id[k - 1] + (0 if same else 1)
    good = np.array([prob[i, j] >= p.min_prob for i, j in matched], bool)
    first = np.searchsorted(run_id, run_id, "left")  # each match's run: [first, last]
    last = np.searchsorted(run_id, run_id, "right") - 1
    for k, (i, j) in enumerate(matched):
        if last[k] - first[k] + 1 < p.min_run:
            continue
        left = good[max(first[k], k - p.window): k]
        right = good[k + 1: min(last[k], k + p.window) + 1]
        # its own reading agrees and a neighbour's does, or it sits between agreeing neighbours
        if (good[k] and (left.any() or right.any())) or (left.any() and right.any()):
            boxes[i].status = "accepted"
            boxes[i].label = text[j]  # as the text writes it: CODH labels the reading (が where the page has か)
    for j, group in spelled.items():  # as the page writes it, where a box next to it is accepted
        labels = _spelled_labels(page, [order[i] for i in group], text[j:j + LONGEST], tkey[j:j + LONGEST], ev[group],
                                 keys)
        near = [b for b in (group[0] - 1, group[-1] + 1) if 0 <= b < len(boxes)]
        if labels and min(q for _, q in labels) >= p.spell_prob and any(boxes[b].status == "accepted" for b in near):
            for i, (label, q) in zip(group, labels):
                boxes[i].status, boxes[i].label, boxes[i].prob = "accepted", label, q
    accepted = [b for b in boxes if b.status == "accepted"]
    if len(accepted) < p.min_page_share * len(boxes):  # a few short runs by chance: the page is not in this text
        for b in accepted:
            b.status, b.label = "unsure", ""
    spans = [b.text_pos for b in boxes if b.text_pos >= 0]
    start, end = (min(spans), max(spans) + 1) if spans else (offset, offset)
    return PageAlignment(page.image_id, start, end, boxes, cost / len(order))


class Aligner:
    """Walks pages in order through one text: each page is searched for from where the previous ended."""

    def __init__(self, text: str, params: AlignParams | None = None) -> None:
        self.text = normalize_text(text)
        self.params = params or AlignParams()
        self.pos = 0

    def align(self, page: Page) -> PageAlignment:
        p = self.params
        if self.pos == 0:  # the first page may start anywhere: best of overlapping windows
            step = max(1, p.first_window - 4 * len(page.chars) - 200)
            result = min((align_page(page, self.text[lo: lo + p.first_window], lo, p)
                          for lo in range(0, max(1, len(self.text) - 4 * len(page.chars)), step)),
                         key=lambda r: r.cost)
        else:
            lo = max(0, self.pos - 200)
            hi = min(len(self.text), self.pos + p.search + 3 * len(page.chars))
            result = align_page(page, self.text[lo:hi], lo, p, expected=self.pos)
        if result.accepted:
            self.pos = max(self.pos, max(b.text_pos for b in result.accepted) + 1)
        return result


def label_code(label: str) -> str | None:
    """The vocabulary code of a label, or None when the competition vocabulary lacks it."""
    if len(label) != 1:
        return None
    code = char_to_code(label)
    return code if code in default_vocabulary() else None


ALIGNMENT_FIELDS = ["image_id", "code", "char", "x", "y", "w", "h", "det_score", "cls_prob", "text_pos", "status", "pred",
                    "pred_prob"]
SUMMARY_FIELDS = ["image_id", "text_start", "text_end", "boxes", "matched", "accepted", "cost", "text_head"]


def alignment_rows(r: PageAlignment) -> list[list]:
    """``alignment.csv`` rows of one page (every box, with its status)."""
    rows = []
    for b in r.boxes:
        code = label_code(b.label) or ""
        x, y, w, h = (round(v) for v in b.box)
        rows.append([r.image_id, code, b.label, x, y, w, h, f"{b.det_score:.3f}", f"{b.prob:.3f}", b.text_pos,
                     b.status, b.pred, f"{b.pred_prob:.3f}"])
    return rows


def summary_row(r: PageAlignment, text: str) -> list:
    matched = sum(b.status in ("matched", "accepted", "mismatch", "unsure") for b in r.boxes)
    return [r.image_id, r.start, r.end, len(r.boxes), matched, len(r.accepted), f"{r.cost:.3f}",
            text[r.start: r.start + 20]]


def character_boxes(rows: list[dict]) -> list[tuple[str, tuple[float, float, float, float]]]:
    """One box per written character, for detector training, from one page's ``alignment.csv`` rows (reading
    order): every detected box, except that a character the alignment found cut in two (a ``split`` pair: two
    consecutive boxes for one text character, one above the other) becomes the box around both. Codes: the
    accepted label, else the classifier's reading."""
    out: list[tuple[str, tuple[float, float, float, float]]] = []
    heights = sorted(float(r["h"]) for r in rows)
    median_h = heights[len(heights) // 2] if heights else 0.0
    i = 0
    while i < len(rows):
        r = rows[i]
        x, y, w, h = (float(r[k]) for k in ("x", "y", "w", "h"))
        code = r["code"] or (char_to_code(r["pred"]) if len(r["pred"]) == 1 else "")
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if r["status"] == "split" and nxt is not None and nxt["status"] == "split" and nxt["text_pos"] == r["text_pos"]:
            x2, y2, w2, h2 = (float(nxt[k]) for k in ("x", "y", "w", "h"))
            overlap = min(x + w, x2 + w2) - max(x, x2)
            x0, y0 = min(x, x2), min(y, y2)
            x1, y1 = max(x + w, x2 + w2), max(y + h, y2 + h2)
            if overlap >= 0.3 * min(w, w2) and y1 - y0 <= 2.0 * median_h:  # one above the other, one character tall
                out.append((code, (x0, y0, x1 - x0, y1 - y0)))
                i += 2
                continue
        if code:
            out.append((code, (x, y, w, h)))
        i += 1
    return out


def write_detector_folder(align_out: Path) -> int:
    """``align_out/detector/``: ``train.csv`` with :func:`character_boxes` of every page in
    ``align_out/alignment.csv`` and ``train_images/`` (links to the aligned page images), a folder
    ``kuzushiji train detector --data`` takes. Returns the number of boxes."""
    from .io.kaggle import format_boxes, write_label_rows
    from .structures import CharBox

    pages: dict[str, list[dict]] = {}
    with open(align_out / "alignment.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            pages.setdefault(row["image_id"], []).append(row)
    out = align_out / "detector"
    (out / "train_images").mkdir(parents=True, exist_ok=True)
    images = {p.stem: p for p in (align_out / "train_images").iterdir()}
    rows, n = {}, 0
    for image_id, page_rows in pages.items():
        if image_id not in images:
            continue
        boxes = [CharBox(code, *box) for code, box in character_boxes(page_rows)]
        rows[image_id] = format_boxes(boxes)
        n += len(boxes)
        _link(images[image_id], out / "train_images" / images[image_id].name)
    write_label_rows(out / "train.csv", rows)
    return n


def clip_box(box: tuple[float, float, float, float], W: int, H: int) -> tuple[float, float, float, float]:
    """A detected box cut to the image (detections may reach past an edge; labels may not)."""
    x, y, w, h = box
    x0, y0 = min(max(x, 0.0), W - 1.0), min(max(y, 0.0), H - 1.0)
    return x0, y0, max(1.0, min(x + w, float(W)) - x0), max(1.0, min(y + h, float(H)) - y0)


def align_to_folder(files: list[Path], text: str, out: Path, recognizer, params: AlignParams | None = None,
                    overlay: bool = False, warn: Callable[[str], None] = print, progress: bool = True
                    ) -> tuple[int, int, int]:
    """Align page files (in reading order) with ``text`` and write ``out``: ``train.csv`` (accepted labels,
    Kaggle layout) with ``train_images/`` (links), ``alignment.csv`` (every box), ``pages.csv`` (spans),
    ``detector/`` (every character's box, split characters joined: :func:`write_detector_folder`) and,
    with ``overlay``, ``<id>.overlay.jpg`` (accepted green, aligned orange with the text's character, extra
    boxes red). Returns (pages aligned, pages failed, labels accepted); a bad page is reported and skipped."""
    from tqdm import tqdm

    from .errors import DataError
    from .io.atomic import atomic_open, atomic_save_image
    from .io.image import read_page
    from .io.kaggle import format_boxes, write_label_rows
    from .io.output_folder import assign_page_ids
    from .structures import CharBox
    from .visualize import draw_overlay

    aligner = Aligner(text, params)
    images_dir = out / "train_images"
    images_dir.mkdir(parents=True, exist_ok=True)
    train_rows: dict[str, str] = {}
    failed = 0
    with atomic_open(out / "alignment.csv", "w", encoding="utf-8", newline="") as fa, \
            atomic_open(out / "pages.csv", "w", encoding="utf-8", newline="") as fs:
        wa, ws = csv.writer(fa, lineterminator="\n"), csv.writer(fs, lineterminator="\n")
        wa.writerow(ALIGNMENT_FIELDS)
        ws.writerow(SUMMARY_FIELDS)
        for f, image_id in tqdm(list(zip(files, assign_page_ids(files))), desc="align", unit="page", disable=not progress):
            try:
                rgb, gray = read_page(f)
                page = recognizer.recognize(gray, image_id)
            except DataError as e:
                failed += 1
                warn(f"error: {e}")
                continue
            r = aligner.align(page)
            wa.writerows(alignment_rows(r))
            ws.writerow(summary_row(r, aligner.text))
            boxes = [CharBox(code, *clip_box(b.box, page.width, page.height)) for b in r.accepted
                     if (code := label_code(b.label))]
            train_rows[image_id] = format_boxes(boxes)
            _link(f, images_dir / f"{image_id}{f.suffix.lower()}")
            if overlay:
                colors = [(0, 160, 0) if b.status == "accepted" else (230, 140, 0) if b.text_pos >= 0 else (220, 0, 0)
                          for b in r.boxes]
                shown = [CharBox(char_to_code(b.label or (aligner.text[b.text_pos] if b.text_pos >= 0 else b.pred)), *b.box)
                         for b in r.boxes]
                atomic_save_image(out / f"{image_id}.overlay.jpg", draw_overlay(rgb, shown, colors=colors))
            warn(f"{image_id}: text {r.start}-{r.end}, {len(r.boxes)} boxes, {len(r.accepted)} accepted")
    write_label_rows(out / "train.csv", train_rows)
    write_detector_folder(out)
    return len(train_rows), failed, sum(len(v.split()) // 5 for v in train_rows.values())


def _link(src: Path, dst: Path) -> None:
    """A hard link to a page image (a copy across file systems); an existing one is kept."""
    import os
    import shutil

    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
