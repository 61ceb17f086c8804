"""Web app commands: ``kuzushiji serve`` and ``kuzushiji export-corrections``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_serve(a: argparse.Namespace) -> int:
    import uvicorn

    from .server.app import create_app

    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {a.host}: anyone who can reach this machine can read and edit the pages",
              file=sys.stderr)
    recognizer = None
    if a.accurate or a.memory:
        from .predictor import Recognizer

        def recognizer():
            return Recognizer(mode="accurate" if a.accurate else "fast", memory=a.memory)
    app = create_app(a.data, a.db, a.workers, recognizer, max_upload_bytes=a.max_upload_mb << 20)
    print(f"kuzushiji: http://{a.host}:{a.port}/  (API docs at /docs; data in {Path(a.data).resolve()})", flush=True)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    return 0


def cmd_export_corrections(a: argparse.Namespace) -> int:
    from .errors import DataError
    from .io.atomic import atomic_write_bytes
    from .server.app import export_files
    from .server.store import Store

    data, out = Path(a.data), Path(a.output)
    if not (data / "kuzushiji.sqlite").is_file() and not a.db:
        raise DataError(data, "no kuzushiji.sqlite here (the --data folder of `kuzushiji serve`)")
    if out.exists() and any(out.iterdir()):
        raise DataError(out, "output folder is not empty; choose a new one (nothing is overwritten)")
    files = export_files(Store(a.db or Store.sqlite_url(data)), data)
    for name, blob in files:
        atomic_write_bytes(out / name, blob)
    print(f"{len(files) - 1} corrected page(s) in {out / 'train.csv'} (images in train_images/); "
          f"train with: kuzushiji train detector --data {out} ... / kuzushiji train classifier --source {out} ...; "
          f"or remember them: kuzushiji memory {out} -o memory.npz --extend bundled")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("serve", help="the web app: upload scans, read them, correct them in the browser")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data", default="kuzushiji_data", help="folder for uploaded scans and the database")
    s.add_argument("--db", help="database URL instead of DATA/kuzushiji.sqlite (e.g. postgresql://user@host/db)")
    s.add_argument("--workers", type=int, default=1, help="pages read at once")
    s.add_argument("--max-upload-mb", type=int, default=50)
    s.add_argument("--accurate", action="store_true", help="read pages in the recognizer's accurate mode")
    s.add_argument("--memory", help="glyph memory to read with (e.g. `kuzushiji memory CORRECTIONS -o m.npz --extend "
                                    "bundled` after export-corrections; default: the bundled one)")
    s.set_defaults(func=cmd_serve)
    e = sub.add_parser("export-corrections", help="corrected pages as Kaggle train.csv + train_images/")
    e.add_argument("--data", required=True, help="the --data folder of `kuzushiji serve`")
    e.add_argument("--db", help="database URL, if the server used --db")
    e.add_argument("-o", "--output", required=True)
    e.set_defaults(func=cmd_export_corrections)
