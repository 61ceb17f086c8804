"""Hostile inputs, round two: each failing probe of ../shared/reports/reliability-security-2026-12-06.md
(P-numbers below) as a regression test, on fixtures the tests make. Data loss first, then the URL policy,
then crashes that must be one line."""
from __future__ import annotations

import errno
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from kuzushiji.cli import main
from kuzushiji.errors import DataError
from kuzushiji.io.image import load_image
from kuzushiji.io.jpeg import jpeg_problem

SAMPLE = REPO / "samples/100241706_00004_2.jpg"


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return Image.open(SAMPLE).convert("L").resize((434, 700))


@pytest.fixture(scope="module")
def jpg(page) -> bytes:
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error")]


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --- data loss ---------------------------------------------------------------------------------------

def test_p9_every_frame_of_a_multi_frame_image_is_a_page(page, tmp_path, capsys):
    blank = Image.new("L", page.size, 255)
    blank.save(tmp_path / "m.tif", save_all=True, append_images=[page])
    blank.save(tmp_path / "a.png", save_all=True, append_images=[page], duration=100)
    page.save(tmp_path / "g.gif", save_all=True, append_images=[blank])
    with pytest.raises(DataError, match="holds 2 frames"):  # never silently cut to frame 1
        load_image(tmp_path / "m.tif")
    out = tmp_path / "out"
    assert main(["recognize", str(tmp_path / "m.tif"), str(tmp_path / "a.png"), str(tmp_path / "g.gif"),
                 "-o", str(out), "--quiet"]) == 0
    got = {p.stem: len(_json(p)["chars"]) for p in out.glob("*.json")}
    assert set(got) == {"m_f0001", "m_f0002", "a_f0001", "a_f0002", "g_f0001", "g_f0002"}
    assert got["m_f0001"] == 0 < got["m_f0002"] and got["g_f0001"] > 0
    assert _json(out / "m_f0002.json")["source"].endswith("m.tif#frame=2")


def test_p15_p16_jpeg_structure_not_its_last_bytes(jpg, tmp_path, capsys):
    data = bytearray(jpg)
    mid = len(data) // 2
    for q in range(mid, mid + 2000, 7):  # the probe's scramble: EOI kept, scan data broken
        if data[q] != 0xFF and data[q - 1] != 0xFF:
            data[q] ^= 0x5A
    data[mid + 3:mid + 5] = b"\xff\xf0"  # at least one marker no scan may hold
    (tmp_path / "corrupt.jpg").write_bytes(bytes(data))
    assert "corrupt JPEG" in jpeg_problem(bytes(data))
    assert main(["recognize", str(tmp_path / "corrupt.jpg"), "-o", str(tmp_path / "o"), "--quiet"]) == 1
    assert "corrupt.jpg: corrupt JPEG" in _errors(capsys.readouterr().err)[0]
    rng = np.random.RandomState(0)
    for s in range(20):  # data after the end-of-image marker (a phone's motion photo) is not the image
        assert jpeg_problem(jpg + rng.bytes(20000) + b"\xff\xda\x00\x08") == "", s
    (tmp_path / "motion.jpg").write_bytes(jpg + rng.bytes(200_000))
    assert (load_image(tmp_path / "motion.jpg") == load_image(io.BytesIO(jpg) and tmp_path / "motion.jpg")).all()
    assert jpeg_problem(jpg[: len(jpg) // 2]).startswith("truncated")
    pad = jpg[:2] + b"\xff\xfe\x00\x04ab" + jpg[2:]  # a comment, restart intervals, progressive: all whole
    assert jpeg_problem(pad) == ""
    buf = io.BytesIO()
    Image.open(io.BytesIO(jpg)).save(buf, "JPEG", progressive=True)
    assert jpeg_problem(buf.getvalue()) == ""


def test_p35_page_ids_are_unique_across_pdfs_manifests_and_files(page, tmp_path, capsys):
    (tmp_path / "c").mkdir()
    page.convert("RGB").save(tmp_path / "book.pdf")
    page.rotate(180).save(tmp_path / "c" / "book_p0001.jpg")
    for m in ("m1", "m2"):
        (tmp_path / m).mkdir()
        page.save(tmp_path / m / "p.png")
        man = {"sequences": [{"canvases": [{"@id": f"c-{m}", "images": [{"resource": {"@id": "p.png"}}]}]}]}
        (tmp_path / m / "manifest.json").write_text(json.dumps(man))
    out = tmp_path / "out"
    args = [str(tmp_path / "book.pdf"), str(tmp_path / "c" / "book_p0001.jpg"), str(tmp_path / "m1/manifest.json"),
            str(tmp_path / "m2/manifest.json"), "-o", str(out), "--quiet", "--allow-local"]
    assert main(["recognize", *args]) == 0
    sources = sorted(_json(p)["source"] for p in out.glob("*.json"))
    assert len(sources) == 4 and len(set(sources)) == 4
    assert {p.stem for p in out.glob("*.json")} == {"book_p0001", "book_p0001_2", "manifest_p0001",
                                                    "manifest_p0001_2"}
    assert "4 page(s) recognized" in capsys.readouterr().out
    assert main(["recognize", *args, "--resume"]) == 0  # the same ids again: nothing redone
    assert "0 page(s) recognized, 4 already done" in capsys.readouterr().out


def test_p43_concurrent_runs_never_overwrite_each_others_page(page, tmp_path):
    for d, im in (("a", page), ("b", page.rotate(180))):
        (tmp_path / d).mkdir()
        im.save(tmp_path / d / "p.jpg")
    cmd = [sys.executable, "-m", "kuzushiji.cli", "recognize"]
    runs = [subprocess.Popen(cmd + [str(tmp_path / d / "p.jpg"), "-o", str(tmp_path / "out"), "--quiet"],
                             stderr=subprocess.PIPE, text=True) for d in "ab"]
    codes = [r.wait(timeout=300) for r in runs]
    errs = [r.stderr.read() for r in runs]
    assert sorted(codes) == [0, 1], errs  # one wrote p, the other was refused, whatever the timing
    loser = errs[codes.index(1)]
    assert "already holds the result of" in loser
    winner = "ab"[codes.index(0)]
    assert _json(tmp_path / "out" / "p.json")["source"] == str((tmp_path / winner / "p.jpg").resolve())


def test_p41_p40_a_full_or_read_only_output_stops_in_one_line_and_resume_finishes(page, tmp_path, monkeypatch,
                                                                                   capsys):
    from kuzushiji import batch
    from kuzushiji.io import output_folder

    pages = tmp_path / "in"
    pages.mkdir()
    for i in range(3):
        page.rotate(i).save(pages / f"p{i}.jpg")
    real, calls = batch.write_files, []

    def full_after_one_page(folder, files):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(folder, files)

    monkeypatch.setattr(batch, "write_files", full_after_one_page)
    out = tmp_path / "out"
    assert main(["recognize", str(pages), "-o", str(out), "--quiet"]) == 1
    errs = _errors(capsys.readouterr().err)
    assert len(errs) == 1 and "No space left on device" in errs[0] and "--resume" in errs[0]
    assert [p.name for p in out.glob("*.json")] == ["p0.json"]
    monkeypatch.setattr(batch, "write_files", real)
    assert main(["recognize", str(pages), "-o", str(out), "--quiet", "--resume"]) == 0
    assert "2 page(s) recognized, 1 already done" in capsys.readouterr().out

    def read_only(self):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(output_folder.OutputFolder, "locked", read_only)
    assert main(["recognize", str(pages), "-o", str(tmp_path / "ro"), "--quiet"]) == 2
    errs = _errors(capsys.readouterr().err)
    assert len(errs) == 1 and "cannot write to the output folder (Read-only file system)" in errs[0]


def test_p38_an_input_linked_into_the_output_folder_is_refused(page, tmp_path, capsys):
    page.save(tmp_path / "real.jpg")
    (tmp_path / "in2").mkdir()
    (tmp_path / "in2" / "page.jpg").symlink_to(tmp_path / "real.jpg")
    assert main(["recognize", str(tmp_path / "in2" / "page.jpg"), "-o", str(tmp_path / "in2"), "--quiet"]) == 2
    assert "holds the input" in capsys.readouterr().err


# --- fetching: only http(s) to public addresses, capped, with a deadline ---------------------------------

def _manifest(*urls: str) -> str:
    return json.dumps({"sequences": [{"canvases": [{"@id": f"c{i}", "images": [{"resource": {"@id": u}}]}
                                                   for i, u in enumerate(urls)]}]})


def test_p23_p26_manifest_sources_are_public_http_only(server, jpg, tmp_path, capsys):
    server.files["/img.jpg"] = jpg
    cache = tmp_path / "cache"
    man = tmp_path / "m.json"
    man.write_text(_manifest("file:///etc/passwd"))
    assert main(["recognize", str(man), "-o", str(tmp_path / "o1"), "--cache-dir", str(cache), "--quiet"]) == 2
    assert "--allow-local" in capsys.readouterr().err and not cache.exists()  # nothing copied anywhere
    for url in (f"{server.url}/img.jpg", "ftp://127.0.0.1/x.jpg", "data:image/jpeg;base64,AAAA",
                "http://10.0.0.1/x.jpg", "http://[::1]/x.jpg"):
        man.write_text(_manifest(url))
        assert main(["recognize", str(man), "-o", str(tmp_path / "o2"), "--cache-dir", str(cache), "--quiet"]) == 2
        errs = _errors(capsys.readouterr().err)
        assert len(errs) == 2 and ("not a public address" in errs[0] or "only http" in errs[0]), url
        assert errs[1] == "error: no input pages found"
    assert server.log == []  # the loopback service was never reached
    server.files["/m.json"] = _manifest(f"{server.url}/img.jpg", f"file://{SAMPLE}").encode()
    assert main(["recognize", f"{server.url}/m.json", "-o", str(tmp_path / "o3"), "--quiet"]) == 2
    assert "not a public address" in capsys.readouterr().err and server.log == []
    # with the flag, a manifest on this machine may name local files and loopback images
    man.write_text(_manifest(f"{server.url}/img.jpg", str(SAMPLE), "rel.jpg"))
    (tmp_path / "rel.jpg").write_bytes(jpg)
    assert main(["recognize", str(man), "-o", str(tmp_path / "o4"), "--cache-dir", str(cache), "--quiet",
                 "--allow-local"]) == 0
    assert len(list((tmp_path / "o4").glob("*.json"))) == 3


def test_p28_redirects_are_checked_again(tmp_path):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    from kuzushiji.io.fetch import download

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd" if self.path == "/f" else "http://127.0.0.1:1/x")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        with pytest.raises(DataError, match="file:///etc/passwd' is not allowed|redirect to file:///etc/passwd refused"):
            download(url + "/f", tmp_path / "x", allow_local=True, retries=0)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_p31_p32_downloads_are_capped_while_streaming_and_have_one_deadline(server, tmp_path):
    import time

    from kuzushiji.io.fetch import download

    server.endless.add("/big")
    server.drip["/slow"] = 0.5
    with pytest.raises(DataError, match="too large"):
        download(server.url + "/big", tmp_path / "big", max_bytes=3 << 20, allow_local=True)
    assert not list(tmp_path.glob("big*"))  # the partial file is gone
    t = time.monotonic()
    with pytest.raises(DataError, match="deadline"):
        download(server.url + "/slow", tmp_path / "slow", deadline_s=2.0, timeout=1.0, allow_local=True)
    assert time.monotonic() - t < 10


def test_p30_a_failing_image_is_fetched_once_per_try(server, tmp_path, capsys):
    server.files["/m.json"] = _manifest(f"{server.url}/gone.jpg").encode()
    assert main(["recognize", f"{server.url}/m.json", "-o", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"),
                 "--quiet", "--allow-local"]) == 1
    assert server.requests("/gone.jpg") == 1 and "HTTP 404" in capsys.readouterr().err


def test_p33_a_malformed_manifest_is_one_line_and_other_inputs_go_on(page, tmp_path, capsys):
    page.save(tmp_path / "good.jpg")
    bad = ['{"sequences": [1]}', '{"sequences": [{"canvases": [1]}]}', '{"items": [1]}', '{"items": "abc"}',
           '{"sequences": [{"canvases": [{"@id": "c", "width": "abc", "images": [{"resource": {"@id": "x"}}]}]}]}',
           '{"sequences": [{"canvases": [{"@id": "c", "label": ' + "[" * 5000 + "]" * 5000 + "}]}]}",
           '{"a": ' + "[" * 100000 + "]" * 100000 + "}"]
    for i, text in enumerate(bad):
        (tmp_path / f"bad{i}.json").write_text(text)
    out = tmp_path / "out"
    assert main(["recognize", *[str(tmp_path / f"bad{i}.json") for i in range(len(bad))], str(tmp_path / "good.jpg"),
                 "-o", str(out), "--quiet"]) == 0
    errs = _errors(capsys.readouterr().err)
    assert len(errs) == len(bad) and all("bad" in e for e in errs)
    assert (out / "good.json").is_file()


# --- crashes that must be one line ---------------------------------------------------------------------

def test_p49_a_missing_extra_names_its_install(page, tmp_path, monkeypatch, capsys):
    page.save(tmp_path / "p.jpg")
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["batch", str(tmp_path / "p.jpg"), "-o", str(tmp_path / "o"), "--engine", "ray", "--quiet"]) == 2
    assert "pip install 'kuzushiji[ray]'" in capsys.readouterr().err
    assert main(["serve", "--data", str(tmp_path / "d")]) == 2
    assert "pip install 'kuzushiji[serve]'" in capsys.readouterr().err


def test_p50_p51_p52_p59_arrays_and_memories_are_checked_before_use(tmp_path, capsys):
    from numpy.lib import format as npy

    np.savez(tmp_path / "m.npz", features=np.zeros((1, 4), np.float16), labels=np.zeros(1, np.int32),
             meta=np.array(json.dumps([1])))
    assert main(["recognize", str(SAMPLE), "-o", str(tmp_path / "o"), "--memory", str(tmp_path / "m.npz")]) == 2
    assert "not a glyph memory" in capsys.readouterr().err
    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (100, 20000, 20000)})
    with zipfile.ZipFile(tmp_path / "h.npz", "w") as z:
        z.writestr("arr_0.npy", header.getvalue() + bytes(64))
    np.savez_compressed(tmp_path / "z.npz", np.zeros((1, 30000, 30000), np.uint8))  # 875 KB -> 900 MB
    assert main(["classify", str(tmp_path / "h.npz"), str(tmp_path / "z.npz")]) == 1
    errs = _errors(capsys.readouterr().err)
    assert "array 'arr_0' too large" in errs[0] and "holds images too large (30000x30000" in errs[1]
    assert main(["memory", str(tmp_path), "-o", "/proc/x.npz"]) == 2
    assert "cannot write there" in capsys.readouterr().err


def test_p12_p22_p93_errors_name_the_file_and_bad_options_exit_2(tmp_path, capsys):
    from kuzushiji.predictor import Recognizer

    big = (np.asarray(Image.open(SAMPLE).convert("L").resize((300, 400)), np.float32) * 1000)
    Image.fromarray(big).save(tmp_path / "float_big.tif")
    Image.new("L", (20, 20), 0).save(tmp_path / "small.png")
    assert main(["recognize", str(tmp_path / "float_big.tif"), str(tmp_path / "small.png"),
                 "-o", str(tmp_path / "o"), "--quiet"]) == 1
    errs = _errors(capsys.readouterr().err)
    assert str(tmp_path / "float_big.tif") in errs[0] and str(tmp_path / "small.png") in errs[1]
    for dpi in ("nan", "0", "-200"):
        with pytest.raises(SystemExit) as e:
            main(["recognize", str(SAMPLE), "-o", str(tmp_path / "o"), "--pdf-dpi", dpi])
        assert e.value.code == 2
    with pytest.raises(DataError, match="unsupported image mode LAB"):
        Recognizer().recognize(Image.open(SAMPLE).convert("LAB"))
    (tmp_path / "text.jpg").write_text("hello")
    assert main(["recognize", str(tmp_path / "text.jpg"), "-o", str(tmp_path / "o2"), "--quiet"]) == 1
    assert "BytesIO" not in capsys.readouterr().err


# --- the web server ----------------------------------------------------------------------------------------

LOCAL = "http://127.0.0.1:8000"


@pytest.fixture
def app_client(tmp_path, page):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from kuzushiji.server.app import create_app

    app = create_app(tmp_path / "data", max_upload_bytes=2_000_000, max_request_bytes=3_000_000)
    with TestClient(app, base_url=LOCAL) as c:
        c.data = tmp_path / "data"
        buf = io.BytesIO()
        page.save(buf, "PNG")
        c.png = buf.getvalue()
        yield c


def _done_page(c) -> dict:
    import time

    pid = c.post("/api/pages", files=[("files", ("p.png", c.png, "image/png"))]).json()["pages"][0]["id"]
    for _ in range(600):
        d = c.get(f"/api/pages/{pid}").json()
        if d["status"] == "done":
            return d
        time.sleep(0.1)
    raise AssertionError("not read")


def test_p78_p79_p75_p77_p83_p91_bad_edits_are_422_and_store_nothing(app_client):
    c = app_client
    d = _done_page(c)
    pid, ch = d["image_id"], d["chars"][0]
    url = f"/api/pages/{pid}/chars/{ch['id']}"
    for box in ('{"x": 1, "y": 1, "w": Infinity, "h": 5}', '{"x": 1e308, "y": 1e308, "w": 1e308, "h": 1e308}',
                '{"x": NaN, "y": 1, "w": 2, "h": 2}', '{"x": 400, "y": 1, "w": 300, "h": 5}'):
        r = c.patch(url, content=f'{{"version": 0, "box": {box}}}', headers={"content-type": "application/json"})
        assert r.status_code == 422, box
    r = c.patch(url, content='{"version": 0, "char": "\\ud800"}', headers={"content-type": "application/json"})
    assert r.status_code == 422
    for bad in (f"{url}", f"/api/pages/{pid}/chars/{2 ** 70}"):
        assert c.patch(bad, json={"version": 2 ** 70, "char": "あ"}).status_code == 422
    assert c.delete(url, params={"version": 2 ** 70}).status_code == 422
    col = d["columns"][0]["chars"]
    ids = [d["chars"][i]["id"] for i in col]
    assert c.put(f"/api/pages/{pid}/order", json={"chars": [ids[0], ids[0]], "versions": [0, 0]}).status_code == 422
    r = c.post("/api/pages", files=[("files", ("", b"secret file body", "image/png"))])
    assert r.status_code in (400, 415, 422) and "secret file body" not in r.text
    assert c.get(f"/api/pages/{pid}").json()["chars"][0] == ch  # nothing was stored
    assert c.get("/api/export.zip").status_code == 200
    assert c.get(f"/api/pages/{pid}/overlay.png").status_code == 200


def test_p82_a_reorder_from_a_stale_view_is_a_conflict(app_client):
    c = app_client
    d = _done_page(c)
    pid = d["image_id"]
    col = max(d["columns"], key=lambda k: len(k["chars"]))["chars"]
    ids, versions = [d["chars"][i]["id"] for i in col[:3]], [d["chars"][i]["version"] for i in col[:3]]
    b = [ids[0], ids[2], ids[1]]
    assert c.put(f"/api/pages/{pid}/order", json={"user": "B", "chars": b,
                                                  "versions": [versions[0], versions[2], versions[1]]}).status_code == 200
    a = [ids[1], ids[0], ids[2]]  # A still sees the old order
    r = c.put(f"/api/pages/{pid}/order", json={"user": "A", "chars": a, "versions": [versions[1], versions[0], versions[2]]})
    assert r.status_code == 409
    now = c.get(f"/api/pages/{pid}").json()
    column = next(k for k in now["columns"] if ids[0] in [now["chars"][i]["id"] for i in k["chars"]])
    assert [now["chars"][i]["id"] for i in column["chars"]][:3] == b  # B's correction stands
    log = c.get(f"/api/pages/{pid}/corrections").json()["corrections"]
    assert log[-1]["action"] == "reorder" and log[-1]["before"][0]["id"] == ids[0]


def test_p86_p87_foreign_hosts_and_cross_origin_changes_are_refused(app_client):
    c = app_client
    assert c.get("/api/pages", headers={"Host": "evil.example.com"}).status_code == 400
    files = [("files", ("p.png", c.png, "image/png"))]
    assert c.post("/api/pages", files=files, headers={"Origin": "http://evil.example.com"}).status_code == 403
    assert c.post("/api/pages", files=files, headers={"Origin": "http://127.0.0.1:18082"}).status_code == 403
    assert c.post("/api/pages", files=files, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert c.get("/api/pages").json()["pages"] == []
    assert c.post("/api/pages", files=files, headers={"Origin": LOCAL}).status_code == 202


def test_p67_p68_p69_upload_limits_hold_while_streaming_and_decoding_is_off_the_loop(app_client, monkeypatch):
    import threading

    from kuzushiji.server import app as server_app

    c = app_client

    def chunks():
        for _ in range(100):  # 6.4 MB with no Content-Length: refused when it passes 3 MB
            yield b"x" * 65536

    r = c.post("/api/pages", content=chunks(), headers={"content-type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 413
    r = c.post("/api/pages", content=b"x", headers={"content-length": str(10 ** 9),
                                                     "content-type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 413
    threads = []
    real = server_app.decode_image

    def spy(*a, **kw):
        threads.append(threading.current_thread().name)
        return real(*a, **kw)

    monkeypatch.setattr(server_app, "decode_image", spy)
    files = [("files", (f"p{i}.png", c.png, "image/png")) for i in range(2)] + [("files", ("bad.png", b"no", "image/png"))]
    assert c.post("/api/pages", files=files).status_code == 415
    assert threads and all(t.startswith("decode") for t in threads)
    assert not [p for p in (c.data / "images").iterdir()]  # nothing staged is left behind


def test_p88_with_auth_every_call_needs_a_token_and_the_user_comes_from_it(tmp_path, page):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from kuzushiji.server.app import create_app

    data = tmp_path / "data"
    assert main(["users", "add", "alice", "--data", str(data)]) == 0
    app = create_app(data, auth=True)
    token = app.state.store.add_user("bob")
    with TestClient(app, base_url=LOCAL) as c:
        assert c.get("/api/pages").status_code == 401
        assert c.get("/api/pages", headers={"Authorization": "Bearer bob.wrong"}).status_code == 401
        assert c.get("/").status_code == 200  # the viewer shell, which then asks for a token
        auth = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/me", headers=auth).json() == {"user": "bob", "auth": True}
        buf = io.BytesIO()
        page.save(buf, "PNG")
        pid = c.post("/api/pages", files=[("files", ("p.png", buf.getvalue(), "image/png"))],
                     headers=auth).json()["pages"][0]["id"]
        import time
        for _ in range(600):
            d = c.get(f"/api/pages/{pid}", headers=auth).json()
            if d["status"] == "done":
                break
            time.sleep(0.1)
        ch = d["chars"][0]
        r = c.patch(f"/api/pages/{pid}/chars/{ch['id']}", json={"version": 0, "char": "源", "user": "alice"},
                    headers=auth)
        assert r.status_code == 200
        log = c.get(f"/api/pages/{pid}/corrections", headers=auth).json()["corrections"]
        assert log[-1]["user_name"] == "bob" and log[-1]["after"][0]["char"] == "源"
        assert c.post("/api/login", json={"token": "x.y"}).status_code == 401
        assert c.post("/api/login", json={"token": token}).status_code == 200  # the cookie now carries the token
        assert c.get("/api/pages").status_code == 200
    assert main(["users", "list", "--data", str(data)]) == 0


def test_p63_export_corrections_problems_are_one_line(app_client, tmp_path, capsys):
    c = app_client
    d = _done_page(c)
    ch = d["chars"][0]
    assert c.patch(f"/api/pages/{d['image_id']}/chars/{ch['id']}", json={"version": 0, "char": "源"}).status_code == 200
    assert main(["export-corrections", "--data", str(c.data), "-o", "/proc/exp"]) == 2
    assert "cannot write" in capsys.readouterr().err
    for img in (c.data / "images").iterdir():
        img.unlink()
    assert main(["export-corrections", "--data", str(c.data), "-o", str(tmp_path / "e1")]) == 2
    assert "cannot be read" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "kuzushiji.sqlite").write_bytes(np.random.RandomState(0).bytes(5000))
    assert main(["export-corrections", "--data", str(bad), "-o", str(tmp_path / "e2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a usable database" in err[0]
