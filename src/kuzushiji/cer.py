"""Character error rate of recognized page text against a transcription, after reading normalisation.

Two copies of one work do not spell alike. :func:`reading` removes what does not change the reading (dakuten,
katakana, small kana, hentaigana, iteration marks, ligatures, transcription marks); :func:`spelling_distance` also
lets a kanji on either side stand for a kana spelling of one of its readings (給 = たまふ, 聞 = きこ, 心 = こころ),
from KANJIDIC's readings (:func:`kuzushiji.vocab.kanji_readings`).
"""
from __future__ import annotations

import numpy as np

from .align import normalize_text, reading_keys
from .vocab import LONGEST, SHORTEST, kanji_readings

LIGATURES = str.maketrans({"ゟ": "より", "ヿ": "こと"})  # one label, two kana (both in the Kaggle vocabulary)


def reading(text: str) -> str:
    """``text`` as it reads: transcription marks and line breaks dropped, ligatures spelled out, each character
    its reading key."""
    return "".join(reading_keys(normalize_text(text.translate(LIGATURES))))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (unit costs)."""
    prev = np.arange(len(b) + 1)
    bb = np.frombuffer(b.encode("utf-32-le"), np.uint32)
    for i, ca in enumerate(a, 1):
        cur = np.empty_like(prev)
        cur[0] = i
        sub = prev[:-1] + (bb != ord(ca))
        for j in range(1, len(b) + 1):  # insertion depends on the left neighbour
            cur[j] = min(sub[j - 1], prev[j] + 1, cur[j - 1] + 1)
        prev = cur
    return int(prev[-1])


def edit_ops(hyp: str, ref: str) -> tuple[int, int, int]:
    """``(substitutions, deletions, insertions)`` of one cheapest way to edit ``ref`` into ``hyp`` (their sum is
    :func:`edit_distance`): deletions are reference characters missing from ``hyp``."""
    n, m = len(hyp), len(ref)
    d = np.zeros((n + 1, m + 1), np.int64)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j - 1] + (hyp[i - 1] != ref[j - 1]), d[i - 1, j] + 1, d[i, j - 1] + 1)
    i, j, ops = n, m, [0, 0, 0]
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (hyp[i - 1] != ref[j - 1]):
            ops[0] += hyp[i - 1] != ref[j - 1]
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            ops[2], i = ops[2] + 1, i - 1
        else:
            ops[1], j = ops[1] + 1, j - 1
    return ops[0], ops[1], ops[2]


def spelling_distance(hyp: str, ref: str, readings: dict[str, frozenset[str]] | None = None) -> int:
    """Edit distance (unit costs) in which a kanji on either side also matches, at no cost, the characters of the
    other side that spell one of its ``readings`` (default :func:`kanji_readings`; at most ``LONGEST``)."""
    readings = kanji_readings() if readings is None else readings
    n, m = len(hyp), len(ref)
    big = n + m + 1
    D = [[big] * (m + 1) for _ in range(n + 1)]
    D[0][0] = 0
    for i in range(n + 1):
        row, nxt = D[i], D[i + 1] if i < n else None
        h = hyp[i] if i < n else ""
        hr = readings.get(h, ())
        for j in range(m + 1):
            d = row[j]
            if j < m and row[j + 1] > d + 1:
                row[j + 1] = d + 1
            if nxt is None:
                continue
            if nxt[j] > d + 1:
                nxt[j] = d + 1
            if j < m:
                c = d + (h != ref[j])
                if nxt[j + 1] > c:
                    nxt[j + 1] = c
                for L in range(SHORTEST, min(LONGEST, m - j) + 1) if hr else ():
                    if ref[j:j + L] in hr and nxt[j + L] > d:
                        nxt[j + L] = d
                rr = readings.get(ref[j], ())
                for L in range(SHORTEST, min(LONGEST, n - i) + 1) if rr else ():
                    if hyp[i:i + L] in rr and D[i + L][j + 1] > d:
                        D[i + L][j + 1] = d
    return D[n][m]


def cer(hyp: str, ref: str, spelling: bool = False) -> float:
    """Character error rate of page text ``hyp`` against transcription ``ref``, both read (:func:`reading`);
    ``spelling``: with :func:`spelling_distance` (a kanji = a kana spelling of its reading)."""
    h, r = reading(hyp), reading(ref)
    return (spelling_distance(h, r) if spelling else edit_distance(h, r)) / max(len(r), 1)
