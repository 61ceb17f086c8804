"""IIIF Presentation manifests (v2 and v3): the canvases of a book in order, with the URL of each image."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import DataError
from .fetch import MAX_MANIFEST_BYTES, cache_path, download


@dataclass(frozen=True)
class Canvas:
    id: str
    label: str
    image: str  # the URL of the image to read
    width: int = 0
    height: int = 0


def _label(v) -> str:
    """A v2 label (string or list) or a v3 language map, as one string."""
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return " ".join(_label(x) for x in v)
    if isinstance(v, dict):
        if "@value" in v:
            return str(v["@value"])
        return " ".join(_label(x) for x in v.values())
    return ""


def _first(v):
    return v[0] if isinstance(v, list) and v else v


def _image_url(resource: dict, service, height: int | None) -> str:
    """The resource's own URL, or, when ``height`` is asked and an Image API service is given, a scaled one."""
    svc = _first(service) if service else None
    base = (svc.get("@id") or svc.get("id")) if isinstance(svc, dict) else None
    if height and base:
        return f"{base.rstrip('/')}/full/,{int(height)}/0/default.jpg"
    url = resource.get("@id") or resource.get("id")
    if not url and base:
        url = f"{base.rstrip('/')}/full/{'max' if 'image/3' in str(svc.get('@context', svc.get('type', ''))) else 'full'}/0/default.jpg"
    return url or ""


def parse_manifest(m: dict, source: str = "manifest", height: int | None = None) -> list[Canvas]:
    """The canvases of a v2 (``sequences/canvases/images/resource``) or v3 (``items/items/items/body``)
    manifest, in order. A canvas without an image, or any part of the wrong JSON type, is a
    :class:`DataError` naming the manifest."""
    if not isinstance(m, dict):
        raise DataError(source, "not a IIIF manifest (expected a JSON object)")
    try:
        return _parse(m, source, height)
    except DataError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, RecursionError) as e:
        raise DataError(source, f"malformed IIIF manifest ({e.__class__.__name__}: {str(e)[:80]})") from None


def _parse(m: dict, source: str, height: int | None) -> list[Canvas]:
    out = []
    if "sequences" in m:  # Presentation 2
        canvases = (_first(m["sequences"]) or {}).get("canvases", [])
        for i, c in enumerate(canvases):
            img = _first(c.get("images") or [])
            res = img.get("resource", {}) if isinstance(img, dict) else {}
            url = _image_url(res, res.get("service"), height)
            if not url:
                raise DataError(source, f"canvas {i + 1} ({c.get('@id', '?')}) has no image")
            out.append(Canvas(c.get("@id", ""), _label(c.get("label", "")), url, int(c.get("width", 0) or 0),
                              int(c.get("height", 0) or 0)))
    elif "items" in m:  # Presentation 3
        for i, c in enumerate(m["items"]):
            if c.get("type", "Canvas") != "Canvas":
                continue
            anno = _first((_first(c.get("items") or []) or {}).get("items") or []) or {}
            body = _first(anno.get("body")) or {}
            if body.get("type") == "Choice":
                body = _first(body.get("items")) or {}
            url = _image_url(body, body.get("service"), height)
            if not url:
                raise DataError(source, f"canvas {i + 1} ({c.get('id', '?')}) has no image")
            out.append(Canvas(c.get("id", ""), _label(c.get("label", "")), url, int(c.get("width", 0) or 0),
                              int(c.get("height", 0) or 0)))
    else:
        raise DataError(source, "not a IIIF Presentation manifest (neither 'sequences' nor 'items')")
    if not out:
        raise DataError(source, "the manifest has no canvases")
    return out


def is_url(s: str) -> bool:
    return urlparse(str(s)).scheme in ("http", "https")


def manifest_name(src: str) -> str:
    """A short name for a manifest: its file stem, or the last meaningful segment of its URL path."""
    if not is_url(src):
        return Path(src).stem
    parts = [p for p in urlparse(src).path.split("/") if p and p.lower() not in ("manifest", "manifest.json")]
    name = parts[-1] if parts else urlparse(src).netloc
    return re.sub(r"[^A-Za-z0-9_.-]", "_", re.sub(r"\.json$", "", name)) or "manifest"


def read_manifest(src: str, cache_dir: str | Path, height: int | None = None,
                  allow_local: bool = False) -> list[Canvas]:
    """Canvases of a manifest given as a URL (fetched and cached) or a local JSON file, at most
    ``MAX_MANIFEST_BYTES``. Fetching follows :func:`kuzushiji.io.fetch.check_url` (``allow_local``)."""
    if is_url(src):
        path = download(src, cache_path(src, cache_dir, ".json"), max_bytes=MAX_MANIFEST_BYTES,
                        allow_local=allow_local)
    else:
        path = Path(src)
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise DataError(src, f"manifest too large ({path.stat().st_size} bytes > {MAX_MANIFEST_BYTES})")
        m = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(src, "file not found") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise DataError(src, f"not a JSON manifest ({e.__class__.__name__})") from None
    return parse_manifest(m, src, height)


def local_image(image: str, manifest: str) -> Path | None:
    """The local file a canvas names (``file://`` URL or a plain path, relative to a local manifest's
    folder), or ``None`` for an http(s) URL."""
    u = urlparse(image)
    if u.scheme in ("http", "https"):
        return None
    if u.scheme == "file":
        return Path(unquote(u.path))
    if u.scheme and len(u.scheme) > 1:  # ftp:, data:, ... (a one-letter scheme is a Windows drive)
        raise DataError(image, f"only http(s) images or local files are read (not {u.scheme}:)")
    p = Path(image)
    return p if p.is_absolute() or is_url(manifest) else Path(manifest).parent / p
