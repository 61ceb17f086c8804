"""HTTP downloads for IIIF images and public datasets: timeouts, retries with back-off, resume of partial
files (HTTP Range), checksums, an on-disk cache, a polite limit on concurrent requests, a progress bar.

Everything fetched is untrusted: only http(s), only to public addresses (each connection's peer address
is checked after it is made, so a DNS answer that changes between lookup and connect gains nothing, and
every redirect is checked again), at most ``max_bytes`` counted while the body streams, and one deadline
for the whole download, retries included. ``allow_local=True`` (the CLI's ``--allow-local``) lets loopback
and private addresses through, for a IIIF server on your own network."""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from .. import __version__
from ..errors import DataError
from .atomic import file_lock

USER_AGENT = f"kuzushiji/{__version__} (+https://github.com/; OCR for pre-modern Japanese books)"
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
CHUNK = 1 << 16
MAX_DOWNLOAD_BYTES = 1 << 30  # an image or dataset file; a IIIF manifest gets MAX_MANIFEST_BYTES
MAX_MANIFEST_BYTES = 32 << 20
DEADLINE_S = 120.0  # one download (an image, a manifest), all its tries together
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


class Refused(Exception):
    """A URL, redirect or peer address the policy does not allow, or a body over the cap: never retried."""


def check_url(url: str, allow_local: bool = False) -> None:
    """Refuse (:class:`DataError`) a URL that is not http(s), or whose host is a loopback, private,
    link-local or otherwise non-public address (unless ``allow_local``)."""
    u = urlparse(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise DataError(url, f"only http(s) URLs are fetched (not {u.scheme or 'a plain path'}:)"
                        + ("" if allow_local else "; local files named by a manifest need --allow-local"))
    try:
        ip = ipaddress.ip_address(u.hostname)
    except ValueError:
        return  # a name: its addresses are checked on connect
    _check_address(ip, url, allow_local)


def _check_address(ip, url: str, allow_local: bool) -> None:
    if allow_local or ip.is_global:
        return
    raise DataError(url, f"refused: {ip} is not a public address (a local or private source needs --allow-local)")


def _peer_checked(conn_class, allow_local: bool):
    """An http.client connection class that refuses, right after connecting, a peer address not allowed."""

    class Checked(conn_class):
        def connect(self) -> None:
            super().connect()
            peer = ipaddress.ip_address(self.sock.getpeername()[0].split("%")[0])
            if not (allow_local or peer.is_global):
                self.sock.close()
                raise Refused(f"{self.host} is at {peer}, not a public address (a local or private source "
                              "needs --allow-local)")

    return Checked


class _Redirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow_local: bool) -> None:
        self.allow_local = allow_local

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            check_url(newurl, self.allow_local)
        except DataError as e:
            raise Refused(f"redirect to {newurl} refused ({e.problem})") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(allow_local: bool) -> urllib.request.OpenerDirector:
    http_conn = _peer_checked(http.client.HTTPConnection, allow_local)
    https_conn = _peer_checked(http.client.HTTPSConnection, allow_local)

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(http_conn, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(https_conn, req, context=self._context)

    # no proxies (the peer check would see the proxy), no file:, ftp: or data: handlers
    opener = urllib.request.OpenerDirector()
    for h in (urllib.request.ProxyHandler({}), Http(), Https(), _Redirects(allow_local),
              urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(h)
    return opener


def download(url: str, dest: str | Path, checksum: str | None = None, timeout: float = 30.0, retries: int = 4,
             progress: bool = False, backoff: float = 0.5, max_bytes: int = MAX_DOWNLOAD_BYTES,
             deadline_s: float = DEADLINE_S, allow_local: bool = False) -> Path:
    """Fetch ``url`` into ``dest`` (atomically: ``dest.part`` is renamed when complete and verified).

    A ``dest`` already there that passes the checksum is kept (a cache hit); a ``dest.part`` from an
    interrupted run is resumed with an HTTP Range request. Timeouts, dropped connections and 408/429/5xx
    answers are retried ``retries`` times with exponential back-off, all within ``deadline_s``; a body over
    ``max_bytes`` is stopped as it streams. Other HTTP errors, refused addresses (see :func:`check_url`) and
    checksum mismatches raise :class:`DataError` naming the URL."""
    check_url(url, allow_local)
    dest = Path(dest)
    if dest.is_file() and _check(dest, checksum):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(dest.with_name(f".{dest.name}.lock")):  # one download per file, across threads and processes
        if dest.is_file() and _check(dest, checksum):  # another one just finished it
            return dest
        limits = (max_bytes, time.monotonic() + deadline_s, _opener(allow_local))
        return _download_locked(url, dest, checksum, timeout, retries, progress, backoff, limits)


def _download_locked(url: str, dest: Path, checksum: str | None, timeout: float, retries: int, progress: bool,
                     backoff: float, limits: tuple) -> Path:
    part = dest.with_name(dest.name + ".part")
    deadline = limits[1]
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, timeout, progress, limits)
            break
        except Refused as e:
            part.unlink(missing_ok=True)
            raise DataError(url, str(e)) from None
        except urllib.error.HTTPError as e:
            if e.code not in RETRY_STATUS or attempt == retries or time.monotonic() >= deadline:
                raise DataError(url, f"HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", None) or e
            if isinstance(reason, Refused):
                part.unlink(missing_ok=True)
                raise DataError(url, str(reason)) from None
            if attempt == retries or time.monotonic() >= deadline:
                raise DataError(url, f"download failed after {attempt + 1} tries ({reason})") from None
        time.sleep(min(backoff * 2 ** attempt, max(0.0, deadline - time.monotonic())))
    if not _check(part, checksum):
        part.unlink()
        raise DataError(url, f"checksum mismatch (expected {checksum}); the partial file was removed, run again")
    os.replace(part, dest)
    return dest


def _fetch_once(url: str, part: Path, timeout: float, progress: bool, limits: tuple) -> None:
    max_bytes, deadline, opener = limits
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        req.add_header("Range", f"bytes={have}-")
    with _polite:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Refused("no answer within the deadline")
        try:
            resp = opener.open(req, timeout=min(timeout, left))
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # the part file is already complete
                return
            raise
        with resp:
            resumed = have and resp.status == 206
            total = resp.headers.get("Content-Length")
            total = int(total) + (have if resumed else 0) if total and total.isdigit() else None
            if total is not None and total > max_bytes:
                raise Refused(f"file too large ({total} bytes > {max_bytes})")
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, initial=have if resumed else 0, unit="B", unit_scale=True,
                           desc=part.name[:-5], leave=False)
            size = have if resumed else 0
            with open(part, "ab" if resumed else "wb") as f:
                while True:
                    block = resp.read1(CHUNK)  # returns what arrived: a slow server cannot hold us past the deadline
                    if not block:
                        break
                    size += len(block)
                    if size > max_bytes:
                        raise Refused(f"file too large (over {max_bytes} bytes)")
                    if time.monotonic() > deadline:
                        raise Refused(f"download not finished within the deadline ({size} bytes so far)")
                    f.write(block)
                    if bar:
                        bar.update(len(block))
            if bar:
                bar.close()
            if total is not None and part.stat().st_size < total:
                raise ConnectionError(f"connection closed after {part.stat().st_size} of {total} bytes")

