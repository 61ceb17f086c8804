"""``kuzushiji data get``: the public kuzushiji datasets from their official locations (CODH), checked,
resumable, unpacked into the layouts the readers and trainers take:

- ``DIR/kmnist/``, ``DIR/k49/``: the ``.npz`` arrays and class maps (``--source npz:IMAGES,LABELS,CLASSMAP``);
- ``DIR/kkanji/kkanji2/U+XXXX/*.png`` (``--source kkanji:DIR/kkanji/kkanji2``);
- ``DIR/codh/<book>/`` with ``<book>_coordinate.csv`` and ``images/`` (``--data DIR/codh``).

Files whose MD5 the publishers' own tools carry are checked against it; every file is also checked by
opening it (``.npz``/``.zip`` CRCs, tar headers), and the SHA-256 of what was fetched is written to
``SHA256SUMS`` beside it, so a later run (or a colleague) can verify the same bytes.
"""
from __future__ import annotations

import re
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DataError
from ..io.atomic import atomic_write_text
from ..io.fetch import download, file_digest

BASE_URL = "http://codh.rois.ac.jp"
DATASET_DEADLINE_S = 3600.0  # one dataset file, all its tries together
DATASET_MAX_BYTES = 8 << 30
BOOK_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class RemoteFile:
    path: str  # below the base URL
    md5: str = ""  # as the publishers' download tools check it, where known
    unpack: str = ""  # an archive: the folder it is unpacked into

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


_K = "kmnist/dataset/"
DATASETS: dict[str, list[RemoteFile]] = {
    "kmnist": [RemoteFile(_K + f"kmnist/{n}") for n in
               ("kmnist-train-imgs.npz", "kmnist-train-labels.npz", "kmnist-test-imgs.npz", "kmnist-test-labels.npz",
                "kmnist_classmap.csv")],
    "k49": [RemoteFile(_K + "k49/k49-train-imgs.npz", "7ac088b20481cf51dcd01ceaab89d821"),
            RemoteFile(_K + "k49/k49-train-labels.npz", "44a8e1b893f81e63ff38d73cad420f7a"),
            RemoteFile(_K + "k49/k49-test-imgs.npz", "d352e201d846ce6b94f42c990966f374"),
            RemoteFile(_K + "k49/k49-test-labels.npz", "4da6f7a62e67a832d5eb1bd85c5ee448"),
            RemoteFile(_K + "k49/k49_classmap.csv")],
    "kkanji": [RemoteFile(_K + "kkanji/kkanji.tar", unpack="kkanji2")],
}
NAMES = tuple(DATASETS) + ("codh",)


def book_file(book: str) -> RemoteFile:
    if not BOOK_RE.match(book):
        raise DataError(book, "not a CODH book id (letters, digits, _ and - only, e.g. 100241706)")
    return RemoteFile(f"char-shape/book/{book}/{book}.zip", unpack=book)


def _verify(path: Path) -> None:
    """Open what was fetched: archives must list and (zip, npz) pass their CRCs."""
    try:
        if path.suffix in (".zip", ".npz"):
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
            if bad:
                raise DataError(path, f"damaged archive member {bad}")
        elif path.suffix == ".tar":
            with tarfile.open(path) as t:
                t.getmembers()
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as e:
        raise DataError(path, f"damaged download ({e.__class__.__name__}: {e}); removed, run again") from None


def _unpack(archive: Path, dest: Path) -> None:
    """Unpack into ``dest`` through a temporary folder (renamed when complete); members may not leave it."""
    tmp = dest.with_name(f".{dest.name}.unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as z:
                for m in z.namelist():
                    if tmp.resolve() not in (tmp / m).resolve().parents:
                        raise DataError(archive, f"unsafe archive member {m!r} (would leave the target folder)")
                z.extractall(tmp)
        else:
            with tarfile.open(archive) as t:
                try:
                    t.extractall(tmp, filter="data")  # refuses absolute paths, '..', links out of the folder
                except tarfile.FilterError as e:
                    raise DataError(archive, f"unsafe archive member ({e})") from None
        # an archive holding one folder named like the target (book.zip -> book/...) is unpacked without it
        inner = list(tmp.iterdir())
        src = inner[0] if len(inner) == 1 and inner[0].is_dir() and inner[0].name == dest.name else tmp
        if dest.exists():
            shutil.rmtree(dest)
        src.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def get_dataset(name: str, out: str | Path, books: list[str] | None = None, base_url: str = BASE_URL,
                progress: bool = True, say: Callable[[str], None] = print, allow_local: bool = False) -> list[Path]:
    """Download (or resume) ``name`` into ``out``; returns the folders ready for training. ``allow_local``
    lets a ``base_url`` on a loopback or private address through (a mirror on your own network)."""
    out = Path(out)
    if name == "codh":
        if not books:
            raise DataError("codh", "give one or more book ids (e.g. 100241706 200003076)")
        jobs = [(book_file(b), out / "codh") for b in books]
    elif name in DATASETS:
        jobs = [(f, out / name) for f in DATASETS[name]]
    else:
        raise DataError(name, f"unknown dataset; choose from {', '.join(NAMES)}")
    ready: list[Path] = []
    for f, folder in jobs:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (f.unpack or f.name)
        if f.unpack and (folder / f".{target.name}.complete").is_file():
            say(f"{target}: already here")
            ready.append(target)
            continue
        dest = folder / ".downloads" / f.name if f.unpack else target
        path = download(f"{base_url.rstrip('/')}/{f.path}", dest, f"md5:{f.md5}" if f.md5 else None,
                        progress=progress, deadline_s=DATASET_DEADLINE_S, max_bytes=DATASET_MAX_BYTES,
                        allow_local=allow_local)
        try:
            _verify(path)
            if f.unpack:
                _unpack(path, target)
        except DataError:
            path.unlink()  # a damaged or unsafe download is not kept: the next run fetches it again
            raise
        _record_sha256(folder, path)
        if f.unpack:
            atomic_write_text(folder / f".{target.name}.complete", f.path + "\n")
            path.unlink()
        say(f"{target}: ok")
        ready.append(target)
    return sorted(set(p if p.is_dir() else p.parent for p in ready))


def _record_sha256(folder: Path, path: Path) -> None:
    sums = folder / "SHA256SUMS"
    lines = dict(ln.split("  ", 1)[::-1] for ln in sums.read_text().splitlines() if "  " in ln) if sums.exists() else {}
    lines[path.name] = file_digest(path, "sha256")
    atomic_write_text(sums, "".join(f"{h}  {n}\n" for n, h in sorted(lines.items())))
