"""The output folder of a batch: unique page ids, who owns each output, resume, and a submission.csv
rebuilt from every page's JSON under a lock, so batches, resumes and concurrent runs all end with
every page's row and nothing an input or an earlier run wrote is overwritten.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Callable

from ..errors import DataError
from ..metrics import MAX_PREDICTIONS_PER_PAGE
from ..structures import CharPoint
from .atomic import file_lock, remove_stale_temps
from .image import OVERLAY_SUFFIX
from .kaggle import format_points, write_label_rows

LOCK_NAME = ".kuzushiji.lock"
SUBMISSION = "submission.csv"


def assign_page_ids(files: list[Path]) -> list[str]:
    """One unique, stable page id per input: the file name without its extension, or, where several
    inputs share it, their path below their common folder (``a/001.jpg`` -> ``a_001``; ``p.png`` and
    ``p.tif`` -> ``p_png``, ``p_tif``)."""
    ids = [f.stem for f in files]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(ids):
        groups[s].append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        paths = [files[i].resolve() for i in members]
        common = Path(os.path.commonpath([str(p.parent) for p in paths]))
        rel = [p.relative_to(common) for p in paths]
        names = ["_".join(r.with_suffix("").parts) for r in rel]
        if len(set(names)) < len(names):
            names = ["_".join(r.with_suffix("").parts) + "_" + r.suffix.lstrip(".").lower() for r in rel]
        for i, n in zip(members, names):
            ids[i] = n
    seen: dict[str, int] = {}
    for i, s in enumerate(ids):  # a disambiguated id may meet another file's own name: number it
        if s in seen:
            seen[s] += 1
            ids[i] = f"{s}_{seen[s]}"
        seen.setdefault(ids[i], 1)
    return ids


def unique_inputs(files: list[Path]) -> list[Path]:
    """Drop repeats of the same file (given twice, or by a directory and a glob), keeping the first."""
    seen: set[Path] = set()
    out = []
    for f in files:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            out.append(f)
    return out


def page_labels(d: dict) -> str:
    """Submission labels of a page JSON: at most 1,200 ``U+XXXX cx cy`` triples, highest scores first."""
    chars = sorted(d["chars"], key=lambda c: -c["score"])[:MAX_PREDICTIONS_PER_PAGE]
    return format_points(CharPoint(c["code"], *c["center"]) for c in chars)


def read_page_json(path: Path) -> dict | None:
    """A page JSON written by this project, or ``None`` if the file is missing, empty or not one."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict) or not {"image_id", "width", "height", "chars"} <= d.keys():
        return None
    if not isinstance(d["chars"], list) or not all(isinstance(c, dict) and {"code", "center", "score"} <= c.keys()
                                                   for c in d["chars"]):
        return None
    return d


def origin_of(source: str | Path) -> str:
    """How a page's source is recorded in its JSON: a local file as its resolved path; a URL or a
    ``book.pdf#page=3`` as given."""
    return str(Path(source).resolve()) if isinstance(source, Path) else str(source)


def _other_source(d: dict, source: str | Path) -> bool:
    """Whether a page JSON records a different source than ``source`` (older JSONs record none)."""
    return bool(d.get("source")) and d["source"] != origin_of(source)


class OutputFolder:
    """Where ``recognize`` writes. Refuses a file, or a folder holding inputs (unless
    ``into_input_folder``); removes temporaries that killed runs left; knows which outputs are done."""

    def __init__(self, path: str | Path, inputs: list[Path], into_input_folder: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise DataError(self.path, "output path exists and is not a folder")
        out = self.path.resolve()
        if not into_input_folder:
            for f in inputs:  # the folder a link lies in counts as well as its target's
                if out in (f.resolve().parent, f.absolute().parent.resolve()):
                    raise DataError(self.path, f"output folder holds the input {f}; choose another -o "
                                               "(or pass --into-input-folder)")
        self.inputs = {f.resolve() for f in inputs} | {f.absolute().parent.resolve() / f.name for f in inputs}
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DataError(self.path, f"cannot create output folder ({e.strerror or e})") from None
        try:  # the lock file doubles as a probe: a read-only folder is refused here, not after the first page
            with self.locked():
                pass
        except OSError as e:
            raise DataError(self.path, f"cannot write to the output folder ({e.strerror or e})") from None
        remove_stale_temps(self.path)
        self._cache: dict[str, tuple[int, int, str | None, str]] = {}

    def check_writable(self, image_id: str, source: str | Path, names: list[str]) -> None:
        """Refuse to write a page whose outputs (``names``) would replace an input file or another input's results."""
        for p in (self.path / n for n in names + [image_id + OVERLAY_SUFFIX]):
            if p.resolve() in self.inputs:
                raise DataError(source, f"its output {p} would overwrite an input")
        d = read_page_json(self.path / f"{image_id}.json")
        if d is not None and _other_source(d, source):
            raise DataError(source, f"page id {image_id} in {self.path} already holds the result of {d['source']}; "
                                    "use another output folder")

    def is_done(self, image_id: str, source: str | Path, names: list[str]) -> bool:
        """True when the page's JSON is complete and from this source, and every file in ``names`` exists."""
        d = read_page_json(self.path / f"{image_id}.json")
        if d is None or d["image_id"] != image_id or _other_source(d, source):
            return False
        return all((self.path / n).is_file() and (self.path / n).stat().st_size > 0 for n in names)

    def locked(self):
        """An exclusive lock on the folder (advisory; shared by every ``recognize`` run writing here)."""
        return file_lock(self.path / LOCK_NAME)

    def rebuild_submission(self, warn: Callable[[str], None] | None = None) -> int:
        """Rewrite ``submission.csv`` from every page JSON in the folder, under the lock; returns the rows."""
        with self.locked():
            rows: dict[str, str] = {}
            for p in sorted(self.path.glob("*.json")):
                try:
                    st = p.stat()
                except OSError:
                    continue
                hit = self._cache.get(p.name)
                if hit and hit[:2] == (st.st_mtime_ns, st.st_size):
                    image_id, labels = hit[2], hit[3]
                else:
                    d = read_page_json(p)
                    image_id, labels = (d["image_id"], page_labels(d)) if d else (None, "")
                    if d is None and warn and st.st_size == 0:
                        warn(f"warning: {p}: empty page JSON left out of {SUBMISSION}")
                    self._cache[p.name] = (st.st_mtime_ns, st.st_size, image_id, labels)
                if image_id is not None:
                    rows[image_id] = labels
            write_label_rows(self.path / SUBMISSION, {k: rows[k] for k in sorted(rows)})
            return len(rows)
