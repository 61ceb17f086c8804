"""Dataset commands: ``kuzushiji data get``."""
from __future__ import annotations

import argparse


def cmd_data_get(a: argparse.Namespace) -> int:
    from .datasets.download import get_dataset

    from .datasets.download import BASE_URL

    folders = get_dataset(a.name, a.output, a.books, a.base_url or BASE_URL, progress=not a.quiet,
                          allow_local=a.allow_local)
    print("ready: " + " ".join(str(f) for f in folders))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("data", help="public datasets").add_subparsers(dest="what", required=True)
    g = d.add_parser("get", help="download kmnist, k49, kkanji or CODH books (checked, resumable, unpacked)")
    g.add_argument("name", help="kmnist, k49, kkanji or codh (an unknown name lists the choices)")
    g.add_argument("books", nargs="*", help="CODH book ids (for 'codh')")
    g.add_argument("-o", "--output", required=True, help="data folder (e.g. data/)")
    g.add_argument("--base-url", help="where the files are served (default: CODH, http://codh.rois.ac.jp)")
    g.add_argument("--allow-local", action="store_true", help="let --base-url be a loopback or private address")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=cmd_data_get)
