"""Load test of `kuzushiji serve` on loopback (a benchmark, not a test): N concurrent clients for S seconds,
each uploading a page every U seconds and, in between, reading (page list, page JSON, text) and correcting
(a candidate picked with the version it read). Prints latency percentiles per request kind and the errors
(any unexpected status or exception; a 409 conflict between two editors is counted apart, as it is the
designed answer). The server runs as its own process, started with the CLI.

usage: python bench/serve.py [--clients 20] [--seconds 60] [--upload-every 10]
"""
from __future__ import annotations

import argparse
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--upload-every", type=float, default=10)
    p.add_argument("--workers", type=int, default=1)
    a = p.parse_args()
    buf = io.BytesIO()
    Image.open(REPO / "samples/100241706_00004_2.jpg").convert("L").resize((620, 1000)).save(buf, "JPEG", quality=90)
    page = buf.getvalue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([sys.executable, "-m", "kuzushiji.cli", "serve", "--port", str(port), "--data", data,
                                   "--workers", str(a.workers)], stdout=subprocess.DEVNULL, env=dict(os.environ))
        try:
            for _ in range(200):
                try:
                    httpx.get(url + "/api/pages", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            lat: dict[str, list[float]] = defaultdict(list)
            errors: list[str] = []
            conflicts = [0]
            stop = time.time() + a.seconds

            def client(k: int) -> None:
                rng = random.Random(k)
                mine: list[str] = []
                next_upload = time.time() + rng.uniform(0, a.upload_every)
                with httpx.Client(base_url=url, timeout=30) as c:
                    while time.time() < stop:
                        try:
                            if time.time() >= next_upload:
                                next_upload += a.upload_every
                                t = time.perf_counter()
                                r = c.post("/api/pages", files=[("files", (f"c{k}.jpg", page, "image/jpeg"))])
                                lat["upload"].append(time.perf_counter() - t)
                                if r.status_code != 202:
                                    errors.append(f"upload {r.status_code}")
                                else:
                                    mine += [q["id"] for q in r.json()["pages"]]
                                continue
                            t = time.perf_counter()
                            r = c.get("/api/pages")
                            lat["list"].append(time.perf_counter() - t)
                            done = [q["id"] for q in r.json()["pages"] if q["status"] == "done"]
                            if not done:
                                time.sleep(0.05)
                                continue
                            pid = rng.choice(done)
                            t = time.perf_counter()
                            d = c.get(f"/api/pages/{pid}")
                            lat["page"].append(time.perf_counter() - t)
                            if d.status_code != 200:  # a page another client deleted is not an error here
                                errors.append(f"page {d.status_code}")
                                continue
                            t = time.perf_counter()
                            r = c.get(f"/api/pages/{pid}/text")
                            lat["text"].append(time.perf_counter() - t)
                            chars = d.json()["chars"]
                            if chars and rng.random() < 0.3:
                                ch = rng.choice(chars)
                                t = time.perf_counter()
                                r = c.patch(f"/api/pages/{pid}/chars/{ch['id']}", json={
                                    "version": ch["version"], "user": f"c{k}", "code": rng.choice(ch["candidates"])["code"]})
                                lat["correct"].append(time.perf_counter() - t)
                                if r.status_code == 409:
                                    conflicts[0] += 1
                                elif r.status_code != 200:
                                    errors.append(f"correct {r.status_code}")
                        except Exception as e:  # noqa: BLE001 - every failure is counted
                            errors.append(f"{e.__class__.__name__}: {e}")

            threads = [threading.Thread(target=client, args=(k,)) for k in range(a.clients)]
            t0 = time.time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.time() - t0
            pages = httpx.get(url + "/api/pages", timeout=30).json()["pages"]
        finally:
            server.terminate()
            server.wait(10)
    n = sum(len(v) for v in lat.values())
    print(f"{a.clients} clients x {wall:.0f} s on loopback, {a.workers} reading worker(s), 2 cores shared by server and clients")
    print(f"{n} requests ({n / wall:.0f}/s), errors: {len(errors)}, edit conflicts (409, by design): {conflicts[0]}")
    print(f"pages uploaded {len(pages)}, read {sum(q['status'] == 'done' for q in pages)}, "
          f"failed {sum(q['status'] == 'failed' for q in pages)}, still queued {sum(q['status'] in ('queued', 'processing') for q in pages)}\n")
    print("| request | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    for kind in ("upload", "list", "page", "text", "correct"):
        v = sorted(lat[kind])
        if v:
            q = lambda f: v[min(len(v) - 1, int(f * len(v)))] * 1000  # noqa: E731
            print(f"| {kind} | {len(v)} | {statistics.median(v) * 1000:.0f} | {q(0.95):.0f} | {q(0.99):.0f} | {v[-1] * 1000:.0f} |")
    if errors:
        print("\nfirst errors:", *errors[:5], sep="\n  ")


if __name__ == "__main__":
    main()
