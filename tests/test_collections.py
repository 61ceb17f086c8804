"""Whole books: PDF and IIIF inputs, PAGE XML / ALTO / TEI outputs validated against the offline schemas,
Ray batches identical to local ones, dataset downloads. Every remote server is a loopback one."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from PIL import Image

from conftest import REPO, SHARED
from kuzushiji.cli import main
from kuzushiji.errors import DataError

SCHEMAS = SHARED.parent / "schemas"
TEI = "{http://www.tei-c.org/ns/1.0}"
XML_NS = "{http://www.w3.org/XML/1998/namespace}"


@pytest.fixture(scope="module")
def page_jpg() -> bytes:
    """The bundled sample page at 700 px height (fast), as JPEG bytes."""
    im = Image.open(REPO / "samples/100241706_00004_2.jpg").convert("RGB").resize((434, 700))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _schema(name: str) -> etree.XMLSchema:
    if not (SCHEMAS / name).is_file():
        pytest.skip("../shared/schemas not present")
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def check_xml(folder: Path, page_id: str) -> None:
    """PAGE and ALTO validate against their XSDs; TEI is well-formed, in the TEI namespace, and every
    character in the text points at a zone inside its surface."""
    for suffix, xsd in ((".page.xml", "pagecontent-2019-07-15.xsd"), (".alto.xml", "alto-4-4.xsd")):
        schema = _schema(xsd)
        doc = etree.parse(str(folder / f"{page_id}{suffix}"))
        assert schema.validate(doc), f"{page_id}{suffix}: {schema.error_log.last_error}"
    tei = etree.parse(str(folder / f"{page_id}.tei.xml")).getroot()
    assert tei.tag == f"{TEI}TEI"
    surface = tei.find(f"{TEI}facsimile/{TEI}surface")
    W, H = int(surface.get("lrx")), int(surface.get("lry"))
    zones = {z.get(f"{XML_NS}id"): z for z in surface.iter(f"{TEI}zone")}
    chars = list(tei.iter(f"{TEI}c"))
    page = json.loads((folder / f"{page_id}.json").read_text(encoding="utf-8"))
    assert len(chars) == len(page["chars"]) > 0
    assert "".join(c.text for c in chars) == page["text"].replace("\n", "")
    for c in chars:
        z = zones[c.get("facs")[1:]]
        assert 0 <= int(z.get("ulx")) < int(z.get("lrx")) <= W and 0 <= int(z.get("uly")) < int(z.get("lry")) <= H


def test_pdf_pages_become_pages_with_every_format(page_jpg, tmp_path, capsys):
    im = Image.open(io.BytesIO(page_jpg))
    pdf = tmp_path / "book.pdf"
    im.save(pdf, "PDF", resolution=100, save_all=True, append_images=[im.transpose(Image.FLIP_LEFT_RIGHT)])
    out = tmp_path / "out"
    rc = main(["recognize", str(pdf), "-o", str(out), "--format", "txt,csv,page,alto,tei", "--pdf-dpi", "100", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    for i in (1, 2):
        pid = f"book_p{i:04d}"
        d = json.loads((out / f"{pid}.json").read_text(encoding="utf-8"))
        assert d["source"] == f"{pdf.resolve()}#page={i}"
        assert abs(d["width"] - 434) <= 1 and abs(d["height"] - 700) <= 1  # 100 dpi: the page's own pixels
        check_xml(out, pid)
    assert (out / "submission.csv").read_text().count("book_p000") == 2
    # a damaged PDF is one line naming it; the good one still runs
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n garbage")
    rc = main(["recognize", str(bad), str(pdf), "-o", str(tmp_path / "out2"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 0 and "bad.pdf: not a readable PDF" in err and (tmp_path / "out2/book_p0002.json").is_file()


def _manifest_v2(base: str, n: int) -> dict:
    return {"@context": "http://iiif.io/api/presentation/2/context.json", "@id": f"{base}/book/manifest.json",
            "@type": "sc:Manifest", "label": "book", "sequences": [{"canvases": [
                {"@id": f"{base}/canvas/{i}", "@type": "sc:Canvas", "label": f"p{i}", "width": 434, "height": 700,
                 "images": [{"resource": {"@id": f"{base}/iiif/img{i}/full/full/0/default.jpg",
                                          "service": {"@id": f"{base}/iiif/img{i}",
                                                      "@context": "http://iiif.io/api/image/2/context.json"}}}]}
                for i in range(1, n + 1)]}]}


def _manifest_v3(base: str, n: int) -> dict:
    return {"@context": "http://iiif.io/api/presentation/3/context.json", "id": f"{base}/book3/manifest",
            "type": "Manifest", "label": {"ja": ["本"]}, "items": [
                {"id": f"{base}/canvas3/{i}", "type": "Canvas", "width": 434, "height": 700, "items": [
                    {"type": "AnnotationPage", "items": [{"type": "Annotation", "motivation": "painting", "body": {
                        "id": f"{base}/iiif/img{i}/full/max/0/default.jpg", "type": "Image",
                        "service": [{"id": f"{base}/iiif/img{i}", "type": "ImageService3"}]}}]}]}
                for i in range(1, n + 1)]}


def test_iiif_manifests_v2_and_v3_with_retries_and_cache(page_jpg, server, tmp_path, capsys):
    server.files["/iiif/img1/source"] = page_jpg
    server.files["/iiif/img2/full/,700/0/default.jpg"] = b"<html>not an image</html>"
    server.files["/book/manifest.json"] = json.dumps(_manifest_v2(server.url, 2)).encode()
    server.files["/book3/manifest"] = json.dumps(_manifest_v3(server.url, 1)).encode()
    server.fail["/iiif/img1/full/,700/0/default.jpg"] = 2  # two 503s, then the image
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = [f"{server.url}/book/manifest.json", f"{server.url}/book3/manifest", "-o", str(out), "--cache-dir", str(cache),
            "--iiif-height", "700", "--format", "page,alto,tei", "--quiet", "--allow-local"]
    assert main(["recognize", *args]) == 1  # one canvas's image is broken
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error")]
    assert len(lines) == 1 and "/iiif/img2/full/,700/0/default.jpg: not a readable image" in lines[0]
    d = json.loads((out / "book_p0001.json").read_text(encoding="utf-8"))
    assert d["canvas"] == f"{server.url}/canvas/1" and d["source"].endswith("/iiif/img1/full/,700/0/default.jpg")
    d3 = json.loads((out / "book3_p0001.json").read_text(encoding="utf-8"))
    assert d3["canvas"] == f"{server.url}/canvas3/1" and d3["chars"] == d["chars"]
    assert server.requests("/iiif/img1/full/,700/0/default.jpg") == 3  # 2 failures + 1 success, then cached
    check_xml(out, "book_p0001")
    tei = (out / "book_p0001.tei.xml").read_text(encoding="utf-8")
    assert f'corresp="{server.url}/canvas/1"' in tei
    # resume: nothing done is redone, nothing cached is fetched again
    n = len(server.log)
    assert main(["recognize", *args, "--resume"]) == 1
    assert [p for p, _ in server.log[n:] if "img1" in p] == []


def test_iiif_errors_are_one_line(server, tmp_path, capsys):
    server.files["/bad/manifest.json"] = b'{"label": "no canvases here"}'
    rc = main(["recognize", f"{server.url}/missing/manifest.json", f"{server.url}/bad/manifest.json",
               "-o", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"), "--quiet", "--allow-local"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "missing/manifest.json: HTTP 404" in err and "bad/manifest.json: not a IIIF Presentation manifest" in err


def test_ray_batch_writes_what_local_writes(page_jpg, tmp_path):
    pytest.importorskip("ray")
    from kuzushiji.batch import OutputOptions, RecognizerOptions, run_batch
    from kuzushiji.io.output_folder import OutputFolder
    from kuzushiji.io.sources import expand_sources

    pages = tmp_path / "pages"
    pages.mkdir()
    im = Image.open(io.BytesIO(page_jpg))
    for i in range(4):
        im.rotate(i * 0.7, fillcolor=(255, 255, 255)).save(pages / f"p{i}.jpg", quality=90)
    (pages / "broken.jpg").write_bytes(page_jpg[:2000])
    sources = expand_sources([str(pages)])
    opts = OutputOptions(("json", "txt", "csv", "page", "alto", "tei"), overlay=True, created="2026-01-01T00:00:00+00:00")
    outs = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        r = run_batch(sources, OutputFolder(out, [s.file for s in sources]), RecognizerOptions(threads=1), opts,
                      engine=engine, progress=False, warn=lambda m: None, workers=2)
        assert (r.done, r.failed) == (4, 1) and "broken.jpg: truncated JPEG" in r.errors[0]
        outs[engine] = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.startswith(".")}
    assert outs["local"].keys() == outs["ray"].keys() and len(outs["local"]) == 4 * 6 + 1
    for name in outs["local"]:
        assert outs["local"][name] == outs["ray"][name], name


def _npz(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, arr_0=a)
    return buf.getvalue()


def test_data_get_resumes_checks_and_unpacks(server, tmp_path, capsys):
    from kuzushiji.datasets import download as dl
    from kuzushiji.datasets.crops import load_source
    from kuzushiji.datasets.pages import load_pages

    rng = np.random.default_rng(0)
    k = "/kmnist/dataset/kmnist/"
    imgs = rng.integers(0, 255, (50, 28, 28), dtype=np.uint8)
    server.files[k + "kmnist-train-imgs.npz"] = _npz(imgs)
    server.files[k + "kmnist-train-labels.npz"] = _npz(rng.integers(0, 10, 50))
    server.files[k + "kmnist-test-imgs.npz"] = _npz(imgs[:10])
    server.files[k + "kmnist-test-labels.npz"] = _npz(np.arange(10))
    server.files[k + "kmnist_classmap.csv"] = ("index,codepoint,char\n" + "".join(
        f"{i},{c},{chr(int(c[2:], 16))}\n" for i, c in enumerate(dl_codes()))).encode()
    server.cut[k + "kmnist-train-imgs.npz"] = 1  # the connection drops half-way once: resumed with Range
    server.fail[k + "kmnist-test-imgs.npz"] = 1
    data = tmp_path / "data"
    assert main(["data", "get", "kmnist", "-o", str(data), "--base-url", server.url, "--quiet", "--allow-local"]) == 0
    assert any(r.startswith("bytes=") for p, r in server.log if p.endswith("kmnist-train-imgs.npz"))
    x = np.load(data / "kmnist/kmnist-train-imgs.npz")["arr_0"]
    assert (x == imgs).all()
    sums = (data / "kmnist/SHA256SUMS").read_text()
    assert hashlib.sha256(server.files[k + "kmnist-train-imgs.npz"]).hexdigest() in sums
    cs = load_source(f"npz:{data}/kmnist/kmnist-train-imgs.npz,{data}/kmnist/kmnist-train-labels.npz,"
                     f"{data}/kmnist/kmnist_classmap.csv", 32)
    assert len(cs.codes) == 50
    n = len(server.log)
    assert main(["data", "get", "kmnist", "-o", str(data), "--base-url", server.url, "--quiet", "--allow-local"]) == 0
    assert len(server.log) == n  # complete files are not fetched again

    # k49: a published MD5 that the served bytes do not match is refused, and nothing is left behind
    server.files["/kmnist/dataset/k49/k49-train-imgs.npz"] = _npz(imgs)
    with pytest.raises(DataError, match="checksum mismatch"):
        dl.get_dataset("k49", data, base_url=server.url, progress=False, say=lambda m: None, allow_local=True)
    assert not list((data / "k49").glob("k49-train-imgs.npz*"))

    # a CODH book: a zip holding <book>/..., unpacked where `train --data DIR/codh` reads it
    page = Image.new("L", (200, 300), 255)
    pbuf = io.BytesIO()
    page.save(pbuf, "JPEG")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("123456789/123456789_coordinate.csv",
                   "Unicode,Image,X,Y,Block ID,Char ID,Width,Height\nU+3042,123456789_00001,10,20,1,1,30,40\n")
        z.writestr("123456789/images/123456789_00001.jpg", pbuf.getvalue())
    server.files["/char-shape/book/123456789/123456789.zip"] = zbuf.getvalue()
    assert main(["data", "get", "codh", "123456789", "-o", str(data), "--base-url", server.url, "--quiet", "--allow-local"]) == 0
    recs = load_pages(data / "codh")
    assert [(r.image_id, len(r.boxes)) for r in recs] == [("123456789_00001", 1)]
    assert main(["data", "get", "codh", "../etc", "-o", str(data), "--base-url", server.url, "--quiet"]) == 2
    assert "not a CODH book id" in capsys.readouterr().err

    # kkanji: a tar; a member that would leave the folder is refused
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as t:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 4
        t.addfile(info, io.BytesIO(b"evil"))
    server.files["/kmnist/dataset/kkanji/kkanji.tar"] = tbuf.getvalue()
    assert main(["data", "get", "kkanji", "-o", str(data), "--base-url", server.url, "--quiet", "--allow-local"]) == 2
    assert "unsafe archive member" in capsys.readouterr().err and not (data / "evil.txt").exists()
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as t:
        for i in range(2):
            info = tarfile.TarInfo(f"kkanji2/U+4E00/{i}.png")
            info.size = len(pbuf.getvalue())
            t.addfile(info, io.BytesIO(pbuf.getvalue()))
    server.files["/kmnist/dataset/kkanji/kkanji.tar"] = tbuf.getvalue()
    assert main(["data", "get", "kkanji", "-o", str(data), "--base-url", server.url, "--quiet", "--allow-local"]) == 0
    assert load_source(f"kkanji:{data}/kkanji/kkanji2", 32).codes.tolist() == ["U+4E00", "U+4E00"]


def dl_codes() -> list[str]:
    from kuzushiji.io.arrays import KMNIST_CODES

    return KMNIST_CODES
