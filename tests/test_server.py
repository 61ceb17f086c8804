"""The web app's REST API through an HTTP client: uploads (and their one-line errors), reading in the
background, the page in every form, corrections with versions, conflicts, undo, export into training data."""
from __future__ import annotations

import io
import sqlite3
import time
import zipfile

import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from conftest import REPO  # noqa: E402
from kuzushiji.cli import main  # noqa: E402
from kuzushiji.server.app import create_app  # noqa: E402

LOCAL = "http://127.0.0.1:8000"  # the Host a local browser sends (the server refuses others)


@pytest.fixture(scope="module")
def page_png() -> bytes:
    im = Image.open(REPO / "samples/100241706_00004_2.jpg").convert("L").resize((434, 700))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def wait_done(client: TestClient, ids: list[str], timeout: float = 60) -> dict:
    t = time.time()
    while time.time() - t < timeout:
        pages = {p["id"]: p for p in client.get("/api/pages").json()["pages"]}
        if all(pages[i]["status"] in ("done", "failed") for i in ids):
            return pages
        time.sleep(0.1)
    raise AssertionError("pages not read in time")


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(tmp_path / "data", max_upload_bytes=2_000_000), base_url=LOCAL) as c:
        c.data = tmp_path / "data"
        yield c


def test_upload_read_correct_undo_export(client, page_png, tmp_path):
    r = client.post("/api/pages", files=[("files", ("scan one.png", page_png, "image/png")),
                                         ("files", ("b.png", page_png, "image/png"))])
    assert r.status_code == 202
    ids = [p["id"] for p in r.json()["pages"]]
    assert ids[0].startswith("scan_one-") and len(set(ids)) == 2
    pages = wait_done(client, ids)
    assert all(pages[i]["status"] == "done" and pages[i]["n_chars"] > 20 for i in ids)
    pid = ids[0]
    d = client.get(f"/api/pages/{pid}").json()
    assert d["text"] and len(d["chars"]) == pages[pid]["n_chars"] and len(d["chars"][0]["candidates"]) == 5
    assert client.get(f"/api/pages/{pid}/text").text.strip() == d["text"]
    assert client.get(f"/api/pages/{pid}/csv").text.startswith(f"image_id,labels\n{pid},U+")
    ov = client.get(f"/api/pages/{pid}/overlay.png")
    assert ov.headers["content-type"] == "image/png" and Image.open(io.BytesIO(ov.content)).size[1] == 700
    assert client.get(f"/api/pages/{pid}/image").content == page_png

    c0 = d["chars"][0]
    alt = c0["candidates"][1]
    r = client.patch(f"/api/pages/{pid}/chars/{c0['id']}", json={"version": c0["version"], "user": "ana", "code": alt["code"]})
    assert r.status_code == 200 and r.json()["code"] == alt["code"] and r.json()["corrected"]
    # another editor still holding version 0 of the same character gets a conflict, not a silent overwrite
    r = client.patch(f"/api/pages/{pid}/chars/{c0['id']}", json={"version": c0["version"], "user": "ben", "char": "あ"})
    assert r.status_code == 409 and r.json()["current"]["code"] == alt["code"]
    # typed character, moved box, a new box, a deleted box, reading order
    c1 = d["chars"][1]
    r = client.patch(f"/api/pages/{pid}/chars/{c1['id']}", json={"version": 0, "user": "ben", "char": "源",
                                                                 "box": {"x": 10, "y": 12, "w": 30, "h": 31}})
    assert r.json()["char"] == "源" and r.json()["box"] == [10, 12, 30, 31]
    new = client.post(f"/api/pages/{pid}/chars", json={"user": "ana", "char": "ゑ", "box": {"x": 5, "y": 600, "w": 20, "h": 20}}).json()
    last = d["chars"][-1]
    assert client.delete(f"/api/pages/{pid}/chars/{last['id']}", params={"version": 0, "user": "ana"}).status_code == 200
    col = d["columns"][1]["chars"]
    order = [d["chars"][i]["id"] for i in col]
    versions = [d["chars"][i]["version"] for i in col]
    r = client.put(f"/api/pages/{pid}/order", json={"user": "ana", "chars": order[::-1], "versions": versions[::-1]})
    assert r.status_code == 200
    d2 = client.get(f"/api/pages/{pid}").json()
    assert [d2["chars"][i]["id"] for i in d2["columns"][1]["chars"]] == order[::-1]
    assert any(c["id"] == new["id"] and c["char"] == "ゑ" for c in d2["chars"])
    assert all(c["id"] != last["id"] for c in d2["chars"])
    # undo: ana's latest (the reorder), then her delete
    assert client.post(f"/api/pages/{pid}/undo", json={"user": "ana"}).json()["undone"] == "reorder"
    assert client.post(f"/api/pages/{pid}/undo", json={"user": "ana"}).json()["undone"] == "delete"
    d3 = client.get(f"/api/pages/{pid}").json()
    assert [d3["chars"][i]["id"] for i in d3["columns"][1]["chars"]] == order and any(c["id"] == last["id"] for c in d3["chars"])
    log = client.get(f"/api/pages/{pid}/corrections").json()["corrections"]
    assert [(k["user_name"], k["action"], k["undone"]) for k in log] == [
        ("ana", "edit", 0), ("ben", "edit", 0), ("ana", "add", 0), ("ana", "delete", 1), ("ana", "reorder", 1)]

    # export: the corrected page only, as train.csv + image, which the trainers read
    out = tmp_path / "fixes"
    assert main(["export-corrections", "--data", str(client.data), "-o", str(out)]) == 0
    from kuzushiji.datasets.crops import load_source
    from kuzushiji.datasets.pages import load_pages

    recs = load_pages(out)
    assert [r.image_id for r in recs] == [pid] and len(recs[0].boxes) == len(d3["chars"])
    assert {b.code for b in recs[0].boxes} >= {alt["code"], "U+6E90", "U+3091"}
    assert len(load_source(str(out), 32).codes) == len(d3["chars"])
    z = zipfile.ZipFile(io.BytesIO(client.get("/api/export.zip").content))
    assert z.read("train.csv") == (out / "train.csv").read_bytes()
    assert main(["export-corrections", "--data", str(client.data), "-o", str(out)]) == 2  # never overwritten

    assert client.delete(f"/api/pages/{pid}").status_code == 200
    assert client.get(f"/api/pages/{pid}").status_code == 404


def test_bad_requests_get_the_right_status(client, page_png):
    r = client.post("/api/pages", files=[("files", ("notes.png", b"hello, not an image", "image/png"))])
    assert r.status_code == 415 and r.json()["detail"].startswith("notes.png: not a readable image")
    r = client.post("/api/pages", files=[("files", ("big.png", b"\0" * 2_000_001, "image/png"))])
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    huge = io.BytesIO()
    Image.new("L", (12000, 11000)).save(huge, "PNG")  # 132 MP, a small file: refused before decoding
    r = client.post("/api/pages", files=[("files", ("huge.png", huge.getvalue(), "image/png"))])
    assert r.status_code == 413 and "image too large" in r.json()["detail"]
    cut = page_png[: len(page_png) // 2]
    r = client.post("/api/pages", files=[("files", ("ok.png", page_png, "image/png")), ("files", ("cut.png", cut, "image/png"))])
    assert r.status_code == 415 and "cut.png" in r.json()["detail"]
    assert client.get("/api/pages").json()["pages"] == []  # a batch with a bad file stores nothing
    assert client.post("/api/pages").status_code == 422
    assert client.get("/api/pages/nope").status_code == 404
    assert client.get("/api/pages/..%2F..%2Fetc%2Fpasswd").status_code == 404
    ids = [p["id"] for p in client.post("/api/pages", files=[("files", ("p.png", page_png, "image/png"))]).json()["pages"]]
    wait_done(client, ids)
    assert client.patch(f"/api/pages/{ids[0]}/chars/1", json={"version": 0, "code": "U+ZZZZ"}).status_code == 422
    assert client.patch(f"/api/pages/{ids[0]}/chars/99999", json={"version": 0, "char": "あ"}).status_code == 404
    assert client.post(f"/api/pages/{ids[0]}/undo", json={"user": "nobody"}).status_code == 409
    assert "/api/pages/{page_id}/chars/{cid}" in client.get("/openapi.json").json()["paths"]


def test_database_survives_and_unread_pages_resume(tmp_path, page_png):
    """A server stopped with pages queued reads them when it starts again; committed edits are there."""
    data = tmp_path / "data"
    app = create_app(data, recognizer=lambda: (_ for _ in ()).throw(RuntimeError("models not ready")))
    with TestClient(app, base_url=LOCAL) as c:
        ids = [p["id"] for p in c.post("/api/pages", files=[("files", ("p.png", page_png, "image/png"))]).json()["pages"]]
        pages = wait_done(c, ids)
        assert pages[ids[0]]["status"] == "failed" and "models not ready" in pages[ids[0]]["error"]
    db = sqlite3.connect(data / "kuzushiji.sqlite")
    db.execute("UPDATE pages SET status = 'queued'")  # as if the server had stopped before reading it
    db.commit()
    db.close()
    with TestClient(create_app(data), base_url=LOCAL) as c:
        assert wait_done(c, ids)[ids[0]]["status"] == "done"
