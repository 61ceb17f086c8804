"""Recognize many pages into an output folder, on this machine or spread over a Ray cluster.

Both engines run the same per-page function (:func:`page_outputs`: load, recognize, render every format)
and the driver writes each page's files atomically, so a Ray batch writes byte for byte what a local
one writes. A failure on one page is reported in one line and the others go on; ``resume`` skips pages
whose outputs are complete.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import cv2

from .errors import DataError
from .exporters import DEFAULT_FORMATS, now_iso, output_names, page_files, write_files
from .io.output_folder import OutputFolder
from .io.sources import PageSource


@dataclass(frozen=True)
class RecognizerOptions:
    """What a worker needs to build its own :class:`~kuzushiji.predictor.Recognizer` (models load once per worker)."""

    detector: tuple[str, ...] | None = None  # several: boxes fused
    classifier: tuple[str, ...] | None = None  # several: probabilities averaged
    threads: int = 0
    threshold: float | None = None
    tta: bool = False
    lm: bool = True
    det_tta: bool = False
    mode: str = "fast"  # "accurate": what predictor.MODES turns on
    fp_filter: str | bool | None = None  # None: the mode's; False: none
    memory: str | bool | None = None  # glyph memory; None: the bundled one (bundled classifier only); False: none
    head_weight: float | None = None  # share of the memory's hand head; None: the mode's
    reader: str | None = None  # chars | columns | both (predictor.READERS); None: the mode's
    column_reader: str | None = None  # the column reader's ONNX (None: bundled)
    column_weak: float = 0.0  # heat-map peaks from this score outline columns the boxes miss (0: off)

    def build(self, threads: int | None = None):
        from .predictor import MODES, Recognizer

        return Recognizer(self.detector or None, self.classifier or None,
                          threads=self.threads if threads is None else threads, det_threshold=self.threshold,
                          tta=self.tta, lm_weight=None if self.lm else 0.0,
                          det_scales=MODES["accurate"]["det_scales"] if self.det_tta else None, mode=self.mode,
                          fp_filter=self.fp_filter, memory=self.memory, head_weight=self.head_weight,
                          reader=self.reader, column_reader=self.column_reader, column_weak=self.column_weak)


@dataclass(frozen=True)
class OutputOptions:
    formats: tuple[str, ...] = DEFAULT_FORMATS
    overlay: bool = False
    created: str = ""  # the timestamp the XML formats carry (default: when the batch started)


@dataclass
class BatchSummary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: bool = False  # the output folder could take no more


class OutputError(Exception):
    """The output folder cannot take more (full, read-only): the batch stops, what was written stays."""


def page_outputs(rec, src: PageSource, out: OutputOptions) -> dict[str, bytes]:
    """Read, recognize and render one page: file name -> content (the JSON last)."""
    rgb = src.load()
    try:
        page = rec.recognize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), src.page_id)
    except DataError as e:  # a problem of the pixels: name the input, not the page id
        raise DataError(src.origin, e.problem) from None
    page.source, page.canvas = src.origin, src.canvas
    return page_files(page, out.formats, rgb if out.overlay else None, out.created or None)


def _safe_outputs(rec, src: PageSource, out: OutputOptions) -> tuple[dict[str, bytes] | None, str]:
    try:
        return page_outputs(rec, src, out), ""
    except DataError as e:
        return None, f"error: {e}"
    except Exception as e:  # one bad page never stops the batch
        return None, f"error: {src.origin}: {e.__class__.__name__}: {e}"


class _Worker:
    """A Ray actor: one recognizer, loaded once, reading the pages it is sent."""

    def __init__(self, rec: RecognizerOptions, out: OutputOptions) -> None:
        self.rec, self.out = rec.build(threads=1), out

    def run(self, src: PageSource) -> tuple[str, dict[str, bytes] | None, str]:
        files, err = _safe_outputs(self.rec, src, self.out)
        return src.page_id, files, err


def run_batch(sources: list[PageSource], folder: OutputFolder, rec: RecognizerOptions = RecognizerOptions(),
              out: OutputOptions = OutputOptions(), engine: str = "local", address: str | None = None,
              resume: bool = False, progress: bool = True, warn: Callable[[str], None] = print,
              workers: int = 0) -> BatchSummary:
    """Recognize ``sources`` into ``folder`` with the ``local`` or ``ray`` engine; returns the counts."""
    from tqdm import tqdm

    out = OutputOptions(out.formats, out.overlay, out.created or now_iso())
    summary = BatchSummary()
    todo: list[PageSource] = []
    for src in sources:
        names = output_names(src.page_id, out.formats, out.overlay)
        if resume and folder.is_done(src.page_id, src.origin, names):
            summary.skipped += 1
            continue
        try:
            folder.check_writable(src.page_id, src.origin, names)
            todo.append(src)
        except DataError as e:
            summary.failed += 1
            warn(f"error: {e}")
    bar = tqdm(total=len(todo), desc="recognize", unit="page", disable=not progress)

    origins = {s.page_id: s.origin for s in todo}

    def finish(page_id: str, files: dict[str, bytes] | None, err: str) -> None:
        if files is not None:
            try:
                with folder.locked():  # checked again where it is written: another run may have taken the id
                    folder.check_writable(page_id, origins[page_id], [n for n in files if n != f"{page_id}.json"])
                    write_files(folder.path, files)
                summary.done += 1
            except DataError as e:
                files, err = None, f"error: {e}"
            except OSError as e:
                bar.close()
                raise OutputError(f"error: {folder.path}: cannot write ({e.strerror or e}); stopped after "
                                  f"{summary.done} page(s); what was written is kept, --resume finishes the rest") \
                    from None
        if files is None:
            summary.failed += 1
            summary.errors.append(err)
            warn(err)
        bar.update(1)
        if "csv" in out.formats and (summary.done + summary.failed) % 50 == 0:
            try:
                folder.rebuild_submission()
            except OSError as e:
                raise OutputError(f"error: {folder.path / 'submission.csv'}: cannot write ({e.strerror or e}); "
                                  "what was written is kept, --resume finishes the rest") from None

    try:
        if engine == "local":
            _run_local(todo, rec, out, finish)
        elif engine == "ray":
            _run_ray(todo, rec, out, finish, address, workers)
        else:
            raise ValueError(f"unknown engine {engine!r} (local or ray)")
    except OutputError as e:
        summary.failed += 1
        summary.errors.append(str(e))
        warn(str(e))
        summary.stopped = True
    finally:  # also on Ctrl-C: the submission holds every finished page
        bar.close()
        if "csv" in out.formats:
            try:
                summary.rows = folder.rebuild_submission(warn=warn)
            except OSError as e:
                warn(f"error: {folder.path / 'submission.csv'}: cannot write ({e.strerror or e}); "
                     "--resume rebuilds it")
    return summary


def _run_local(todo: list[PageSource], rec_opts: RecognizerOptions, out: OutputOptions, finish) -> None:
    rec = rec_opts.build() if todo else None
    with ThreadPoolExecutor(max_workers=4) as pool:  # remote images download ahead of recognition
        ahead = {s.page_id: pool.submit(s.prefetch) for s in todo if s.url}
        for src in todo:
            failed = ahead.pop(src.page_id).exception() if src.page_id in ahead else None
            if failed is not None:  # reported as it is, not fetched a second time by load()
                finish(src.page_id, None, f"error: {failed}" if isinstance(failed, DataError) else
                       f"error: {src.origin}: {failed.__class__.__name__}: {failed}")
                continue
            files, err = _safe_outputs(rec, src, out)
            finish(src.page_id, files, err)


def _run_ray(todo: list[PageSource], rec: RecognizerOptions, out: OutputOptions, finish, address: str | None,
             workers: int) -> None:
    try:
        import ray
    except ImportError:
        raise DataError("--engine ray", "Ray is not installed: pip install 'kuzushiji[ray]'") from None

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 **({} if address else {"num_cpus": workers or None}))
    try:
        n = workers or max(1, int(ray.available_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1)(_Worker)
        actors = [actor.remote(rec, out) for _ in range(min(n, max(1, len(todo))))]
        idle = list(actors) * 2  # two pages in flight per worker: one reading, one queued
        pending: dict = {}
        queue = list(reversed(todo))
        while queue or pending:
            while queue and idle:
                a, src = idle.pop(), queue.pop()
                pending[a.run.remote(src)] = (a, src)
            ready, _ = ray.wait(list(pending), num_returns=1)
            a, src = pending.pop(ready[0])
            try:
                page_id, files, err = ray.get(ready[0])
            except ray.exceptions.RayError as e:  # the worker died: report the page, start a new worker
                page_id, files, err = src.page_id, None, f"error: {src.origin}: worker failed ({e.__class__.__name__})"
                a = actor.remote(rec, out)
            idle.append(a)
            finish(page_id, files, err)
    finally:
        if started:
            ray.shutdown()
