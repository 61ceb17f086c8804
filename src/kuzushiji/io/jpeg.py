"""A structural check of JPEG files, walked marker by marker from the start of the file.

libjpeg only warns on corrupt data and decodes garbage, and appended data (a phone's "motion photo"
video) may hold any bytes, so neither a decoder's silence nor the file's last bytes tell whether a JPEG
is whole. :func:`jpeg_problem` follows the segments and entropy-coded scans of the first image up to its
end-of-image marker and names the first thing out of place; what follows that marker is ignored.
"""
from __future__ import annotations

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
RST0, RST7 = 0xD0, 0xD7
# markers that may follow a scan: DHT, DAC, DQT, DNL, DRI, SOS, EOI, APPn, COM
AFTER_SCAN = {0xC4, 0xCC, 0xDB, 0xDC, 0xDD, SOS, EOI, *range(0xE0, 0xF0), 0xFE}
# markers a frame header area may hold: SOFn (not DHT/JPG/DAC), and AFTER_SCAN's segments
BEFORE_SCAN = AFTER_SCAN | {m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)}


def _skip_scan(data: bytes, i: int) -> tuple[int, str]:
    """Skip entropy-coded data from ``i``: the index of the marker that ends the scan, or -1 and a problem."""
    n, rst = len(data), 0
    while True:
        j = data.find(b"\xff", i)
        if j < 0 or j + 1 >= n:
            return -1, "truncated JPEG (a scan has no end)"
        nxt = data[j + 1]
        if nxt == 0x00 or nxt == 0xFF:  # stuffed byte, or fill before a marker
            i = j + (2 if nxt == 0x00 else 1)
        elif RST0 <= nxt <= RST7:
            if nxt - RST0 != rst:
                return -1, f"corrupt JPEG (restart marker out of order at byte {j})"
            rst, i = (rst + 1) % 8, j + 2
        elif nxt in AFTER_SCAN:
            return j, ""
        else:
            return -1, f"corrupt JPEG (marker FF{nxt:02X} inside a scan at byte {j})"


def jpeg_problem(data: bytes) -> str:
    """What is wrong with a JPEG's structure ("" when its first image is complete and well formed)."""
    n = len(data)
    if data[:2] != b"\xff\xd8":
        return "not a JPEG (no start-of-image marker)"
    i, scans = 2, 0
    while True:
        if i + 2 > n:
            return "truncated JPEG (no end-of-image marker)"
        if data[i] != 0xFF:
            return f"corrupt JPEG (data where a marker should be, at byte {i})"
        m = data[i + 1]
        if m == 0xFF:
            i += 1
            continue
        if m == EOI:
            return "" if scans else "corrupt JPEG (no image data before the end-of-image marker)"
        if RST0 <= m <= RST7:  # a stray restart marker between segments carries no length
            i += 2
            continue
        if m not in (AFTER_SCAN if scans else BEFORE_SCAN):
            return f"corrupt JPEG (unexpected marker FF{m:02X} at byte {i})"
        if i + 4 > n:
            return "truncated JPEG (cut inside a segment header)"
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2:
            return f"corrupt JPEG (segment length {length} at byte {i})"
        i += 2 + length
        if i > n:
            return "truncated JPEG (cut inside a segment)"
        if m == SOS:
            scans += 1
            i, problem = _skip_scan(data, i)
            if problem:
                return problem
