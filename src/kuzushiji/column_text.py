"""Reading a page by columns, and combining that with the character pipeline.

``reader="columns"``: each column the detector's boxes outline is cut as a strip and read whole by the column
reader (:mod:`kuzushiji.inference.column_reader`); every character's box is estimated from where along the strip
it was read. ``reader="both"``: the detected boxes are aligned with the column text by the same dynamic programme
`align` uses (:func:`kuzushiji.align.align_page`); a character no box covers gets an estimated box
(``Char.estimated``). Then either every box keeps its own reading and only those characters are added
(``text_from="boxes"``, the default: it reads better), or the column text is the text, each box taking the
character it is aligned with and a box with none left out (``text_from="columns"``).
"""
from __future__ import annotations

import numpy as np

from .align import AlignParams, align_page, normalize_text
from .datasets.columns import strip_with_origin
from .inference.column_reader import ColumnChar
from .structures import Candidate, Char, Column, Page
from .vocab import code_to_char


def read_columns(reader, gray: np.ndarray, page: Page, lm=None, lm_index=None, lm_weight: float = 0.0
                 ) -> list[tuple[list[ColumnChar], float, float, float]]:
    """Per column of ``page``: what the reader reads, with the strip's ``x0, y0, scale``."""
    out = []
    for col in page.columns:
        strip, x0, y0, scale = strip_with_origin(gray, col.box)
        out.append((reader.read([strip], lm, lm_index, lm_weight)[0], x0, y0, scale))
    return out


def _estimated(reader, col: Column, c: ColumnChar, y0: float, scale: float, height: float, column: int) -> Char:
    code = reader.codes[c.cls]
    yc = y0 + (c.step + 0.5) * reader.stride / scale
    x, _, w, _ = col.box
    box = (x, float(yc - height / 2), w, float(height))
    return Char(box, code, code_to_char(code), c.prob, 0.0, [Candidate(code, code_to_char(code), c.prob)], column, True)


def columns_page(reader, page: Page, reads: list) -> Page:
    """The page as the column reader reads it: every box estimated."""
    chars, columns = [], []
    h = float(np.median([c.box[3] for c in page.chars])) if page.chars else 32.0
    for col, (read, _, y0, scale) in zip(page.columns, reads):
        members = []
        for c in read:
            members.append(len(chars))
            chars.append(_estimated(reader, col, c, y0, scale, h, len(columns)))
        if members:
            columns.append(Column(members, col.box))
    return Page(page.image_id, page.width, page.height, chars, columns, page.timings, page.source, page.canvas)


def merge_page(reader, page: Page, reads: list, params: AlignParams | None = None, text_from: str = "columns",
               min_insert: float = 0.5) -> Page:
    """The column text with the detected boxes aligned to it (see the module's docstring). ``text_from="boxes"``:
    every detected box keeps its own reading and the column reader only adds the characters no box covers (read
    with probability >= ``min_insert``), each where the reader read it."""
    params = params or AlignParams()
    chars, columns = [], []
    h = float(np.median([c.box[3] for c in page.chars])) if page.chars else 32.0
    for col, (read, _, y0, scale) in zip(page.columns, reads):
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
        if text_from == "boxes":
            members = _with_insertions(reader, page, col, read, kept, box_of, chars, len(columns), y0, scale, h,
                                       min_insert)
            if members:
                columns.append(Column(members, col.box))
            continue
        members = []
        for j, i in enumerate(kept):
            c = read[i]
            code = reader.codes[c.cls]
            if j in box_of:
                d = page.chars[box_of[j]]
                cands = [Candidate(code, code_to_char(code), c.prob)] + [a for a in d.candidates if a.code != code]
                ch = Char(d.box, code, code_to_char(code), d.det_score * c.prob, d.det_score, cands[:len(d.candidates)
                                                                                                 or 1], len(columns))
            else:
                ch = _estimated(reader, col, c, y0, scale, h, len(columns))
            members.append(len(chars))
            chars.append(ch)
        if members:
            columns.append(Column(members, col.box))
    return Page(page.image_id, page.width, page.height, chars, columns, page.timings, page.source, page.canvas)


def _with_insertions(reader, page: Page, col: Column, read: list, kept: list[int], box_of: dict[int, int],
                     chars: list[Char], column: int, y0: float, scale: float, h: float, min_insert: float) -> list[int]:
    """A column's detected characters as they were read, with the column reader's characters that no box covers
    inserted between them in text order; appends to ``chars``, returns the new members."""
    pos_of = {b: j for j, b in box_of.items()}
    members, done = [], 0

    def insert_upto(end: int) -> None:
        nonlocal done
        for j in range(done, end):
            if j not in box_of and read[kept[j]].prob >= min_insert:
                members.append(len(chars))
                chars.append(_estimated(reader, col, read[kept[j]], y0, scale, h, column))
        done = max(done, end)

    for b in col.chars:
        if b in pos_of:
            insert_upto(pos_of[b])
            done = max(done, pos_of[b] + 1)
        d = page.chars[b]
        members.append(len(chars))
        chars.append(Char(d.box, d.code, d.char, d.score, d.det_score, d.candidates, column))
    insert_upto(len(kept))
    return members
