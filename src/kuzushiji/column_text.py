"""Reading a page by columns, and combining that with the character pipeline.

The columns: those the detected boxes form, each grown along its length over the heat map's weaker peaks, and
new ones where only weak peaks lie (:func:`kuzushiji.reading_order.segment_columns`): a column whose characters
the detector missed is read too. ``reader="columns"``: each column is cut as a strip and read whole by the column
reader (:mod:`kuzushiji.inference.column_reader`); every character's box is estimated from where along the strip
it was read. ``reader="both"``: the detected boxes are aligned with the column text by the same dynamic programme
`align` uses (:func:`kuzushiji.align.align_page`); a character no box covers gets an estimated box
(``Char.estimated``). Then either every box keeps its own reading and only those characters are added
(``text_from="boxes"``), or besides a box the column reader read too takes the more probable of the two
readings (``text_from="best"``), or the column text is the text, each box taking the character it is aligned
with and a box with none left out (``text_from="columns"``).
"""
from __future__ import annotations

import numpy as np

from .align import AlignParams, align_page, normalize_text
from .datasets.columns import strip_with_origin
from .inference.column_reader import ColumnChar
from .reading_order import Box, merge_order
from .structures import Candidate, Char, Column, Page
from .vocab import code_to_char

Read = tuple[list[ColumnChar], float, float, float]  # what a strip holds, and the strip's x0, y0, scale


def read_columns(reader, gray: np.ndarray, boxes: list[Box], lm=None, lm_index=None, lm_weight: float = 0.0,
                 bonus: float = 0.0) -> list[Read]:
    """Per column box: what the reader reads (decoded with the language model at ``lm_weight`` and ``bonus`` a
    character), with the strip's ``x0, y0, scale``."""
    cut = [strip_with_origin(gray, b) for b in boxes]
    reads = reader.read([c[0] for c in cut], lm, lm_index, lm_weight, bonus=bonus)
    return [(r, x0, y0, scale) for r, (_, x0, y0, scale) in zip(reads, cut)]


def _estimated(reader, box: Box, c: ColumnChar, y0: float, scale: float, height: float, column: int) -> Char:
    code = reader.codes[c.cls]
    yc = y0 + (c.step + 0.5) * reader.stride / scale
    x, _, w, _ = box
    box = (x, float(yc - height / 2), w, float(height))
    return Char(box, code, code_to_char(code), c.prob, 0.0, [Candidate(code, code_to_char(code), c.prob)], column, True)


def _read_as(reader, d: Char, c: ColumnChar) -> Char:
    """Detected box ``d`` with the column reader's reading ``c``: that reading first among its candidates."""
    code = reader.codes[c.cls]
    cands = [Candidate(code, code_to_char(code), c.prob)] + [a for a in d.candidates if a.code != code]
    return Char(d.box, code, code_to_char(code), d.det_score * c.prob, d.det_score, cands[:len(d.candidates) or 1])


def _assemble(page: Page, boxes: list[Box], per_column: list[list[Char]], order: list[int]) -> Page:
    """A page of the given columns (their characters) in ``order``, empty columns left out."""
    chars, columns = [], []
    for k in order:
        if not per_column[k]:
            continue
        members = []
        for ch in per_column[k]:
            ch.column = len(columns)
            members.append(len(chars))
            chars.append(ch)
        columns.append(Column(members, boxes[k]))
    return Page(page.image_id, page.width, page.height, chars, columns, page.timings, page.source, page.canvas)


def columns_page(reader, page: Page, boxes: list[Box], reads: list[Read], char_h: float) -> Page:
    """The page as the column reader reads it (``boxes`` in reading order): every box estimated."""
    per_column = [[_estimated(reader, box, c, y0, scale, char_h, -1) for c in read]
                  for box, (read, _, y0, scale) in zip(boxes, reads)]
    return _assemble(page, boxes, per_column, list(range(len(boxes))))


def merge_page(reader, page: Page, grown: list[Box], reads: list[Read], new: list[Box] = (),
               new_reads: list[Read] = (), params: AlignParams | None = None, text_from: str = "columns",
               min_insert: float = 0.5) -> Page:
    """The column text with the detected boxes aligned to it (see the module's docstring): ``grown`` and
    ``reads`` are ``page.columns``' regions and what was read there, ``new`` and ``new_reads`` the columns of weak
    peaks only. ``text_from="boxes"``: every detected box keeps its own reading and the column reader only adds
    the characters no box covers (read with probability >= ``min_insert``), each where the reader read it."""
    params = params or AlignParams()
    h = float(np.median([c.box[3] for c in page.chars])) if page.chars else 32.0
    per_column: list[list[Char]] = []
    for col, box, (read, _, y0, scale) in zip(page.columns, grown, reads):
        # the column's text, as the aligner compares text (characters it would drop are left out of the match)
        kept = [i for i, c in enumerate(read) if normalize_text(code_to_char(reader.codes[c.cls]))]
        text = "".join(code_to_char(reader.codes[read[i].cls]) for i in kept)
        one = Page(page.image_id, page.width, page.height, [page.chars[i] for i in col.chars],
                   [Column(list(range(len(col.chars))), col.box)])
        aligned = align_page(one, text, 0, params).boxes if text else []
        box_of = {}
        for k, b in enumerate(aligned):
            if b.text_pos >= 0 and b.text_pos not in box_of:
                box_of[b.text_pos] = col.chars[k]
        if text_from in ("boxes", "best"):
            per_column.append(_with_insertions(reader, page, col.chars, box, read, kept, box_of, y0, scale, h,
                                               min_insert, text_from == "best"))
            continue
        out = []
        for j, i in enumerate(kept):
            c = read[i]
            if j in box_of:
                out.append(_read_as(reader, page.chars[box_of[j]], c))
            else:
                out.append(_estimated(reader, box, c, y0, scale, h, -1))
        per_column.append(out)
    floor = min_insert if text_from in ("boxes", "best") else 0.0
    for box, (read, _, y0, scale) in zip(new, new_reads):
        per_column.append([_estimated(reader, box, c, y0, scale, h, -1) for c in read if c.prob >= floor])
    boxes = list(grown) + list(new)
    return _assemble(page, boxes, per_column, merge_order(list(grown), list(new)))


def _with_insertions(reader, page: Page, members: list[int], box: Box, read: list, kept: list[int],
                     box_of: dict[int, int], y0: float, scale: float, h: float, min_insert: float,
                     surer: bool = False) -> list[Char]:
    """A column's detected characters as they were read, with the column reader's characters that no box covers
    inserted between them in text order. ``surer``: a box the column reader read too takes whichever reading is
    the more probable, the classifier's or the column reader's."""
    pos_of = {b: j for j, b in box_of.items()}
    out: list[Char] = []
    done = 0

    def insert_upto(end: int) -> None:
        nonlocal done
        for j in range(done, end):
            if j not in box_of and read[kept[j]].prob >= min_insert:
                out.append(_estimated(reader, box, read[kept[j]], y0, scale, h, -1))
        done = max(done, end)

    for b in members:
        if b in pos_of:
            insert_upto(pos_of[b])
            done = max(done, pos_of[b] + 1)
        d = page.chars[b]
        c = read[kept[pos_of[b]]] if b in pos_of else None
        if surer and c is not None and reader.codes[c.cls] != d.code and c.prob > _prob(d):
            out.append(_read_as(reader, d, c))
        else:
            out.append(Char(d.box, d.code, d.char, d.score, d.det_score, d.candidates))
    insert_upto(len(kept))
    return out


def _prob(c: Char) -> float:
    """How sure the character pipeline is of a box's reading: its chosen candidate's probability."""
    return next((a.prob for a in c.candidates if a.code == c.code), c.score / max(c.det_score, 1e-6))
