"""Batch throughput, local engine vs Ray, on the same 20 real pages (a benchmark, not a test): prints a table.

Both engines write every format (json, txt, csv, page, alto, tei) into fresh folders; the table gives
pages/s over the whole run (Ray start-up included) and whether the two folders hold identical files.

usage: python bench/batch.py [--pages N] [--workers N]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kuzushiji.batch import OutputOptions, RecognizerOptions, run_batch
from kuzushiji.exporters import FORMATS
from kuzushiji.io.output_folder import OutputFolder
from kuzushiji.io.sources import expand_sources

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pages", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    sources = expand_sources([str(SHARED / "codh_pages_unlabeled/images")])[: a.pages]
    opts = OutputOptions(FORMATS, created="2026-01-01T00:00:00+00:00")
    rows, files = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine, threads in (("local", 0), ("ray", 1)):
            out = Path(tmp) / engine
            t = time.perf_counter()
            r = run_batch(sources, OutputFolder(out, [s.file for s in sources]), RecognizerOptions(threads=threads),
                          opts, engine=engine, progress=False, workers=a.workers)
            dt = time.perf_counter() - t
            files[engine] = {q.name: q.read_bytes() for q in out.iterdir() if not q.name.startswith(".")}
            rows.append((engine, r.done, r.failed, dt, r.done / dt))
    same = files["local"] == files["ray"]
    print(f"{len(sources)} pages from {SHARED / 'codh_pages_unlabeled/images'}, all formats, 2 cores\n")
    print("| engine | pages | failed | seconds | pages/s |\n|---|---|---|---|---|")
    for e, d, f, dt, pps in rows:
        print(f"| {e}{' (%d workers)' % a.workers if e == 'ray' else ''} | {d} | {f} | {dt:.1f} | {pps:.2f} |")
    print(f"\noutputs identical: {same} ({len(files['local'])} files)")


if __name__ == "__main__":
    main()
