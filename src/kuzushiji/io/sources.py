"""Where pages come from: image files, PDF pages, IIIF canvases. ``expand_sources`` turns what a user
types (files, folders, globs, PDFs, manifest files or URLs) into :class:`PageSource` items with unique
page ids; ``PageSource.load`` reads one page through the image gate, fetching remote images into a cache."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import DataError
from .fetch import cache_path, check_url, default_cache_dir, download
from .iiif import is_url, local_image, manifest_name, read_manifest
from .image import IMAGE_SUFFIXES, image_frames, list_images, load_image
from .output_folder import assign_page_ids, unique_inputs
from .pdf import pdf_page_count, render_pdf_page

PDF_SUFFIX = ".pdf"
MANIFEST_SUFFIX = ".json"


@dataclass(frozen=True)
class PageSource:
    """One page to read. ``origin`` names it in outputs and errors: a file path, ``book.pdf#page=3``,
    or an image URL; ``file`` is the local file it is read from (an image, a PDF, a cache entry)."""

    page_id: str
    origin: str
    file: Path | None = None  # local input file (None for a remote image)
    pdf_page: int = -1  # 0-based page of a PDF
    url: str = ""  # remote image
    canvas: str = ""  # IIIF canvas id
    cache_dir: str = ""
    pdf_dpi: float = 200.0
    frame: int = -1  # 0-based frame of a multi-frame image (TIFF, GIF, APNG)
    allow_local: bool = False  # a remote image may be on a loopback or private address

    def load(self) -> np.ndarray:
        """The page as uint8 RGB; any problem raises :class:`DataError` naming ``origin``."""
        if self.url:
            path = self.prefetch()
            try:
                return load_image(path)
            except DataError as e:
                path.unlink(missing_ok=True)  # not kept in the cache: the next run fetches it again
                raise DataError(self.url, e.problem) from None
        if self.pdf_page >= 0:
            return render_pdf_page(self.file, self.pdf_page, self.pdf_dpi)
        return load_image(self.file, frame=self.frame if self.frame >= 0 else None)

    def prefetch(self) -> Path | None:
        """Download a remote image into the cache now (a pool can fetch ahead of recognition); its file."""
        if not self.url:
            return None
        return download(self.url, cache_path(self.url, iiif_cache(self.cache_dir), ".img"),
                        allow_local=self.allow_local)


def iiif_cache(cache_dir: str | Path | None) -> Path:
    """Where downloaded IIIF images and manifests are kept: ``cache_dir``, else ``~/.cache/kuzushiji/iiif``."""
    return Path(cache_dir) if cache_dir else default_cache_dir() / "iiif"


def expand_sources(inputs: list[str], recursive: bool = False, cache_dir: str | Path | None = None,
                   pdf_dpi: float = 200.0, iiif_height: int | None = None,
                   warn: Callable[[str], None] | None = None, allow_local: bool = False) -> list[PageSource]:
    """Everything the inputs name, in order: images as they are, each frame of a multi-frame image as
    ``<stem>_f0001``..., each PDF page as ``<stem>_p0001``..., each IIIF canvas (manifest URL or ``.json``
    file, v2 or v3) as ``<name>_p0001``... Page ids are unique in the run (:func:`unique_page_ids`). Errors
    in one input (an unreadable PDF or manifest) are reported through ``warn`` and the others go on."""
    warn = warn or (lambda m: None)
    cache = str(iiif_cache(cache_dir))
    entries: list[tuple[str, str | Path]] = []  # ("iiif", manifest) or ("file", path), in input order
    for item in inputs:
        if is_url(item) or (Path(item).suffix.lower() == MANIFEST_SUFFIX and Path(item).is_file()):
            entries.append(("iiif", item))
        else:
            entries += [("file", f) for f in list_images([item], warn=warn, recursive=recursive,
                                                          suffixes=IMAGE_SUFFIXES + (PDF_SUFFIX,))]
    local = unique_inputs([f for kind, f in entries if kind == "file"])
    ids = dict(zip(local, assign_page_ids(local)))
    out: list[PageSource] = []
    for kind, x in entries:
        if kind == "iiif":
            try:
                canvases = read_manifest(str(x), cache, iiif_height, allow_local=allow_local)
            except DataError as e:
                warn(f"error: {e}")
                continue
            try:
                out += _canvas_pages(str(x), canvases, cache, allow_local)
            except DataError as e:
                warn(f"error: {e} (in the manifest {x})")
        elif x in ids:  # a repeat of a file given before is read once
            f, pid = Path(x), ids.pop(x)
            origin = str(f.resolve())
            if f.suffix.lower() != PDF_SUFFIX:
                frames = image_frames(f)
                out += [PageSource(pid, origin, f)] if frames == 1 else \
                    [PageSource(f"{pid}_f{i + 1:04d}", f"{origin}#frame={i + 1}", f, frame=i) for i in range(frames)]
                continue
            try:
                n = pdf_page_count(f)
            except DataError as e:
                warn(f"error: {e}")
                continue
            out += [PageSource(f"{pid}_p{i + 1:04d}", f"{origin}#page={i + 1}", f, i, pdf_dpi=pdf_dpi)
                    for i in range(n)]
    return unique_page_ids(out)


def _canvas_pages(manifest: str, canvases: list, cache: str, allow_local: bool) -> list[PageSource]:
    """The pages of a manifest's canvases: remote images (fetched under the URL policy) or, only with
    ``allow_local``, local files it names."""
    base, out = manifest_name(manifest), []
    for i, c in enumerate(canvases):
        pid = f"{base}_p{i + 1:04d}"
        local = local_image(c.image, manifest)
        if local is None:
            check_url(c.image, allow_local)
            out.append(PageSource(pid, c.image, url=c.image, canvas=c.id, cache_dir=cache, allow_local=allow_local))
        elif not allow_local:
            raise DataError(c.image, f"canvas {i + 1} names a local file; pass --allow-local to read it")
        else:
            out.append(PageSource(pid, str(local.resolve()), local, canvas=c.id))
    return out


def unique_page_ids(sources: list[PageSource]) -> list[PageSource]:
    """Number the later of any pages that share an id (``book.pdf`` page 1 and ``c/book_p0001.jpg``, two
    ``manifest.json``): ``book_p0001``, ``book_p0001_2``; one page's results never replace another's."""
    taken = {s.page_id for s in sources}
    seen: set[str] = set()
    out = []
    for s in sources:
        pid, k = s.page_id, 1
        while pid in seen or (pid != s.page_id and pid in taken):  # not another input's own id either
            k += 1
            pid = f"{s.page_id}_{k}"
        seen.add(pid)
        out.append(s if pid == s.page_id else replace(s, page_id=pid))
    return out

