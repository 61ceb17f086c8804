"""Load test of `kuzushiji serve` on loopback (a benchmark, not a test): N concurrent clients for S seconds,
each uploading a page every U seconds and, in between, reading (page list, page JSON, text) and correcting
(a candidate picked with the version it read). Prints latency percentiles per request kind and the errors
(any unexpected status or exception; a 409 conflict between two editors is counted apart, as it is the
designed answer). The server runs as its own process, started with the CLI.

Then, with the load still running, the server's limits: a 600 MB upload with no length, 20 x 43 MB files in one
request, five 110-megapixel PNGs while another client measures its latency, a foreign Host and a cross-origin
upload; each with its answer, its time, and the server's peak memory (VmHWM).

usage: python bench/serve.py [--clients 20] [--seconds 60] [--upload-every 10] [--no-limits]
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
    p.add_argument("--no-limits", action="store_true", help="skip the limit probes")
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
            probes = [] if a.no_limits else limit_probes(url, server.pid, a.seconds)
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
    if probes:
        print("\n| limit probe (during the load) | answer | s | server peak MB (VmHWM) | other client's max latency ms |")
        print("|---|---|---|---|---|")
        for row in probes:
            print("| " + " | ".join(str(x) for x in row) + " |")


def _peak_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def limit_probes(url: str, pid: int, seconds: float) -> list[tuple]:
    """What the server does with oversized, slow-to-decode and foreign requests, measured mid-load."""
    time.sleep(min(10.0, seconds / 4))  # the load is under way
    rows = []
    multipart = {"content-type": "multipart/form-data; boundary=zz"}

    def timed(name: str, fn) -> None:
        lat, stop = [], threading.Event()

        def watch() -> None:  # another client's view of the server meanwhile
            with httpx.Client(base_url=url, timeout=60) as c:
                while not stop.is_set():
                    t = time.perf_counter()
                    c.get("/api/pages")
                    lat.append(time.perf_counter() - t)
                    time.sleep(0.02)

        w = threading.Thread(target=watch)
        w.start()
        t = time.perf_counter()
        try:
            answer = fn()
        except httpx.HTTPError as e:  # the server stopped reading: the body was refused mid-stream
            answer = f"connection closed by the server ({e.__class__.__name__})"
        dt = time.perf_counter() - t
        stop.set()
        w.join()
        rows.append((name, answer, f"{dt:.1f}", _peak_mb(pid), f"{max(lat) * 1000:.0f}" if lat else "-"))

    def stream(total_mb: int):
        sent = [0]

        def gen():  # one file part whose body never ends: only the size limit can stop it
            yield (b'--zz\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n'
                   b"Content-Type: image/png\r\n\r\n")
            for _ in range(total_mb * 16):
                sent[0] += 65536
                yield bytes(65536)

        r = httpx.post(url + "/api/pages", content=gen(), headers=multipart, timeout=120)
        return f"{r.status_code} after {sent[0] >> 20} MB sent"

    timed("600 MB upload, no Content-Length", lambda: stream(600))
    bmp = io.BytesIO()
    Image.new("RGB", (4000, 3600)).save(bmp, "BMP")  # 43 MB, a valid image
    files = [("files", (f"b{i}.bmp", bmp.getvalue(), "image/bmp")) for i in range(20)]
    timed("20 x 43 MB BMP in one request",
          lambda: httpx.post(url + "/api/pages", files=files, timeout=120).status_code)
    del files
    png = io.BytesIO()
    Image.new("L", (10000, 11000), 255).save(png, "PNG")  # 110 MP, a small file: decoded in full to check it
    files = [("files", (f"big{i}.png", png.getvalue(), "image/png")) for i in range(5)] + \
        [("files", ("bad.png", b"not an image", "image/png"))]
    timed("5 x 110 MP PNG (+1 bad file)", lambda: httpx.post(url + "/api/pages", files=files, timeout=120).status_code)
    timed("Host: evil.example.com",
          lambda: httpx.get(url + "/api/pages", headers={"Host": "evil.example.com"}).status_code)
    timed("cross-origin upload", lambda: httpx.post(url + "/api/pages", headers={"Origin": "http://evil.example.com"},
                                                    files=[("files", ("p.png", png.getvalue(), "image/png"))]).status_code)
    return rows


if __name__ == "__main__":
    main()
