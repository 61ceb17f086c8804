"""Atomic file writes: a crash or an error never leaves a half-written output."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


TMP_SUFFIX = ".tmp"
_UMASK = os.umask(0o022)  # read once at import (setting it is the only way), then put back
os.umask(_UMASK)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def image_bytes(image, fmt: str = "JPEG") -> bytes:
    """A PIL image encoded as JPEG (quality 90) or PNG bytes."""
    import io

    buf = io.BytesIO()
    image.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def atomic_save_image(path: str | Path, image) -> None:
    """Save a PIL image atomically; the format comes from the suffix of ``path``."""
    path = Path(path)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}.get(path.suffix.lower(), "PNG")
    atomic_write_bytes(path, image_bytes(image, fmt))


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete temporary files that :func:`atomic_open` left behind in ``folder`` when its process was
    killed (its pid, kept in the name, is no longer running). Other runs' live temporaries are kept."""
    removed = []
    for p in Path(folder).glob(f".*{TMP_SUFFIX}"):
        parts = p.name.rsplit(".", 3)  # ".<name>", "<pid>", "<random>", "tmp"
        if len(parts) != 4 or not parts[1].isdigit() or _pid_alive(int(parts[1])):
            continue
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


@contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """An exclusive advisory lock held on ``path`` (created if missing), between threads and processes."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the atomic writes still hold
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
