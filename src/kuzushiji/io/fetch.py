"""HTTP downloads for IIIF images and public datasets: timeouts, retries with back-off, resume of partial
files (HTTP Range), checksums, an on-disk cache, a polite limit on concurrent requests, a progress bar."""
from __future__ import annotations

import hashlib
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from .. import __version__
from ..errors import DataError
from .atomic import file_lock

USER_AGENT = f"kuzushiji/{__version__} (+https://github.com/; OCR for pre-modern Japanese books)"
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
CHUNK = 1 << 16
_polite = threading.BoundedSemaphore(4)  # at most this many requests at once per process, to any server


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kuzushiji"


def cache_path(url: str, cache_dir: str | Path, suffix: str = "") -> Path:
    """Where ``url`` is kept in ``cache_dir``: a hash of the URL (plus ``suffix``), so no URL text reaches a path."""
    return Path(cache_dir) / (hashlib.sha256(url.encode("utf-8")).hexdigest()[:32] + suffix)


def file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _check(path: Path, checksum: str | None) -> bool:
    """``checksum`` is ``"md5:..."`` or ``"sha256:..."`` (or None: any complete file passes)."""
    if not checksum:
        return True
    algo, _, want = checksum.partition(":")
    return file_digest(path, algo) == want.lower()


def download(url: str, dest: str | Path, checksum: str | None = None, timeout: float = 30.0, retries: int = 4,
             progress: bool = False, backoff: float = 0.5) -> Path:
    """Fetch ``url`` into ``dest`` (atomically: ``dest.part`` is renamed when complete and verified).

    A ``dest`` already there that passes the checksum is kept (a cache hit); a ``dest.part`` from an
    interrupted run is resumed with an HTTP Range request. Timeouts, dropped connections and 408/429/5xx
    answers are retried ``retries`` times with exponential back-off; other HTTP errors and checksum
    mismatches raise :class:`DataError` naming the URL."""
    dest = Path(dest)
    if dest.is_file() and _check(dest, checksum):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(dest.with_name(f".{dest.name}.lock")):  # one download per file, across threads and processes
        if dest.is_file() and _check(dest, checksum):  # another one just finished it
            return dest
        return _download_locked(url, dest, checksum, timeout, retries, progress, backoff)


def _download_locked(url: str, dest: Path, checksum: str | None, timeout: float, retries: int, progress: bool,
                     backoff: float) -> Path:
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, timeout, progress)
            break
        except urllib.error.HTTPError as e:
            if e.code not in RETRY_STATUS or attempt == retries:
                raise DataError(url, f"HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            if attempt == retries:
                reason = getattr(e, "reason", None) or e
                raise DataError(url, f"download failed after {retries + 1} tries ({reason})") from None
        time.sleep(backoff * 2 ** attempt)
    if not _check(part, checksum):
        part.unlink()
        raise DataError(url, f"checksum mismatch (expected {checksum}); the partial file was removed, run again")
    os.replace(part, dest)
    return dest


def _fetch_once(url: str, part: Path, timeout: float, progress: bool) -> None:
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        req.add_header("Range", f"bytes={have}-")
    with _polite:
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # the part file is already complete
                return
            raise
        with resp:
            resumed = have and resp.status == 206
            total = resp.headers.get("Content-Length")
            total = int(total) + (have if resumed else 0) if total else None
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, initial=have if resumed else 0, unit="B", unit_scale=True,
                           desc=part.name[:-5], leave=False)
            with open(part, "ab" if resumed else "wb") as f:
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    f.write(block)
                    if bar:
                        bar.update(len(block))
            if bar:
                bar.close()
            if total is not None and part.stat().st_size < total:
                raise ConnectionError(f"connection closed after {part.stat().st_size} of {total} bytes")

