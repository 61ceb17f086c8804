"""Web app commands: ``kuzushiji serve`` and ``kuzushiji export-corrections``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _store(data: str | Path, db: str | None, create: bool = False):
    """The server's database (``create``: a new one if none), or a one-line DataError (no database there, not a
    database, unreadable)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .errors import DataError
    from .server.store import Store

    if create and not db:
        Path(data).mkdir(parents=True, exist_ok=True)
    elif not (Path(data) / "kuzushiji.sqlite").is_file() and not db:
        raise DataError(data, "no kuzushiji.sqlite here (the --data folder of `kuzushiji serve`)")
    try:
        return Store(db or Store.sqlite_url(data))
    except SQLAlchemyError as e:
        raise DataError(db or Path(data) / "kuzushiji.sqlite", f"not a usable database ({e.__class__.__name__}: "
                        f"{str(e.orig if getattr(e, 'orig', None) else e)[:80]})") from None


def cmd_serve(a: argparse.Namespace) -> int:
    from .errors import DataError

    try:
        import uvicorn

        from .server.app import create_app
        from .server.security import LOOPBACK_HOSTS
    except ImportError as e:
        raise DataError("serve", f"the web app needs its extra ({e.name} is missing): pip install 'kuzushiji[serve]'") \
            from None
    wildcard = a.host in ("0.0.0.0", "::")
    if a.host not in LOOPBACK_HOSTS and not a.auth:
        print(f"warning: serving on {a.host} without --auth: anyone who can reach this machine can read and edit "
              "the pages", file=sys.stderr)
    hosts = tuple(LOOPBACK_HOSTS) + tuple(h.lower() for h in a.allowed_host or ()) + (() if wildcard else (a.host,))
    if wildcard and not a.allowed_host:
        print("warning: only requests naming this machine as 127.0.0.1/localhost are answered; add the names "
              "clients use with --allowed-host", file=sys.stderr)
    recognizer = None
    if a.accurate or a.memory:
        from .predictor import Recognizer

        def recognizer():
            return Recognizer(mode="accurate" if a.accurate else "fast", memory=a.memory)
    app = create_app(a.data, a.db, a.workers, recognizer, max_upload_bytes=a.max_upload_mb << 20,
                     max_request_bytes=a.max_request_mb << 20, allowed_hosts=hosts, auth=a.auth,
                     allow_local=a.allow_local)
    if a.auth and not app.state.store.users():
        print("warning: --auth but no users yet: add one with `kuzushiji users add NAME --data ...`", file=sys.stderr)
    print(f"kuzushiji: http://{a.host}:{a.port}/  (API docs at /docs; data in {Path(a.data).resolve()}"
          + ("; tokens required" if a.auth else "") + ")", flush=True)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    return 0


def cmd_export_corrections(a: argparse.Namespace) -> int:
    from .errors import DataError
    from .io.atomic import atomic_write_bytes
    from .server.app import export_files

    data, out = Path(a.data), Path(a.output)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(out, "output folder is not empty; choose a new one (nothing is overwritten)")
    files = export_files(_store(data, a.db), data)
    try:
        for name, blob in files:
            atomic_write_bytes(out / name, blob)
    except OSError as e:
        raise DataError(out, f"cannot write ({e.strerror or e})") from None
    print(f"{len(files) - 1} corrected page(s) in {out / 'train.csv'} (images in train_images/); "
          f"train with: kuzushiji train detector --data {out} ... / kuzushiji train classifier --source {out} ...; "
          f"or remember them: kuzushiji memory {out} -o memory.npz --extend bundled")
    return 0


def cmd_users(a: argparse.Namespace) -> int:
    from .errors import DataError

    store = _store(a.data, a.db, create=a.action == "add")
    if a.action == "add":
        try:
            token = store.add_user(a.name)
        except ValueError as e:
            raise DataError(a.name, str(e)) from None
        print(f"user {a.name} added; their token (shown once, keep it secret):\n{token}")
    elif a.action == "remove":
        if not store.remove_user(a.name):
            raise DataError(a.name, "no such user")
        print(f"user {a.name} removed")
    else:
        for u in store.users():
            print(f"{u['name']}\t{u['created']}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("serve", help="the web app: upload scans, read them, correct them in the browser")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--data", default="kuzushiji_data", help="folder for uploaded scans and the database")
    s.add_argument("--db", help="database URL instead of DATA/kuzushiji.sqlite (e.g. postgresql://user@host/db)")
    s.add_argument("--workers", type=int, default=1, help="pages read at once (default 1)")
    s.add_argument("--max-upload-mb", type=int, default=50, help="largest file accepted in an upload (default 50)")
    s.add_argument("--max-request-mb", type=int, default=200,
                   help="largest upload request, all its files together, refused as it streams (default 200)")
    s.add_argument("--allowed-host", action="append",
                   help="a host name clients reach the server by (beside 127.0.0.1 and localhost); repeat for more")
    s.add_argument("--allow-local", action="store_true",
                   help="IIIF manifests given in the app may be on loopback or private addresses and name local files")
    s.add_argument("--auth", action="store_true",
                   help="every request needs a user's token (`kuzushiji users add NAME`); corrections are logged "
                        "under that user")
    s.add_argument("--accurate", action="store_true", help="read pages in the recognizer's accurate mode")
    s.add_argument("--memory", help="glyph memory to read with (e.g. `kuzushiji memory CORRECTIONS -o m.npz --extend "
                                    "bundled` after export-corrections; default: the bundled one)")
    s.set_defaults(func=cmd_serve)
    e = sub.add_parser("export-corrections", help="corrected pages as Kaggle train.csv + train_images/")
    e.add_argument("--data", required=True, help="the --data folder of `kuzushiji serve`")
    e.add_argument("--db", help="database URL, if the server used --db")
    e.add_argument("-o", "--output", required=True, help="a new or empty folder")
    e.set_defaults(func=cmd_export_corrections)
    u = sub.add_parser("users", help="the users of `serve --auth`: add one (prints their token), remove, list")
    u.add_argument("action", choices=("add", "remove", "list"), help="add a user (prints their token), remove one, list")
    u.add_argument("name", nargs="?", default="", help="user name (A-Z a-z 0-9 _ -), for add and remove")
    u.add_argument("--data", default="kuzushiji_data", help="the --data folder of `kuzushiji serve`")
    u.add_argument("--db", help="database URL, if the server uses --db")
    u.set_defaults(func=cmd_users)
