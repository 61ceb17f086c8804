from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KUZUSHIJI_SHARED", REPO.parent / "shared" / "data"))
DEV_PAGES = SHARED / "kuzushiji_pages_100241706"


@pytest.fixture
def dev_pages() -> Path:
    if not (DEV_PAGES / "train.csv").is_file():
        pytest.skip("real dev pages not present (../shared/data)")
    return DEV_PAGES


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data not present")
    return SHARED


@pytest.fixture
def server():
    """A loopback HTTP server for download tests (tests/loopback.py)."""
    from loopback import Loopback

    s = Loopback()
    yield s
    s.close()
