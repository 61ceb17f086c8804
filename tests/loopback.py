"""A small HTTP server on 127.0.0.1 for download tests: static files, HTTP Range, injected failures
(503 answers, connections cut half-way, a byte every few seconds, an endless body), a IIIF Image API route
that scales, and a request log."""
from __future__ import annotations

import io
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


class Loopback:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fail: dict[str, int] = {}  # path -> how many 503 answers before serving
        self.cut: dict[str, int] = {}  # path -> how many times to send half the body and close
        self.log: list[tuple[str, str]] = []  # (path, Range header)
        self.drip: dict[str, float] = {}  # path -> seconds between single bytes, sent forever (no length)
        self.endless: set[str] = set()  # paths sent as zeros forever, with no Content-Length
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                server.log.append((path, self.headers.get("Range", "")))
                if server.fail.get(path, 0) > 0:
                    server.fail[path] -= 1
                    self.send_error(503, "try later")
                    return
                if path in server.drip or path in server.endless:
                    self.send_response(200)
                    self.end_headers()
                    try:
                        while True:
                            self.wfile.write(b"\0" if path in server.drip else bytes(1 << 16))
                            self.wfile.flush()
                            if path in server.drip:
                                time.sleep(server.drip[path])
                    except OSError:  # the client gave up
                        return
                body = server.body(path)
                if body is None:
                    self.send_error(404, "not found")
                    return
                start = 0
                m = re.match(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if m:
                    start = int(m.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if server.cut.get(path, 0) > 0:
                    server.cut[path] -= 1
                    self.wfile.write(body[start: start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def body(self, path: str) -> bytes | None:
        m = re.match(r"^(/iiif/[^/]+)/full/,(\d+)/0/default\.jpg$", path)  # IIIF Image API: scale to a height
        if m and m.group(1) + "/source" in self.files:
            im = Image.open(io.BytesIO(self.files[m.group(1) + "/source"]))
            h = int(m.group(2))
            buf = io.BytesIO()
            im.resize((max(1, im.width * h // im.height), h)).save(buf, "JPEG", quality=90)
            return buf.getvalue()
        return self.files.get(path)

    def requests(self, path: str) -> int:
        return sum(1 for p, _ in self.log if p == path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
