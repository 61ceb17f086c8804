"""The viewer as a transcription tool, in Debian's headless Chromium (Playwright): a plain Japanese face for the
text, one label size per page, full page names with duplicates marked and delete, PDFs and IIIF manifests in,
corrected pages and books out in every format, the history of what changed, and the keyboard flow."""
from __future__ import annotations

import io
import json
import subprocess
import zipfile

import pytest
from PIL import Image

pytest.importorskip("playwright")
pytest.importorskip("fastapi")
from kuzushiji.server.local import browser_page, chromium_path, running_server  # noqa: E402
from conftest import REPO  # noqa: E402
from loopback import Loopback  # noqa: E402

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed (make setup)")


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    d = tmp_path_factory.mktemp("scans")
    im = Image.open(REPO / "samples/100241706_00004_2.jpg").convert("L").resize((434, 700))
    for side in ("1", "2"):
        im.save(d / f"200010454_00012_{side}.jpg", quality=90)
    im.convert("RGB").save(d / "book.pdf", save_all=True, append_images=[im.rotate(180).convert("RGB")])
    return d


def _wait_pages(page, n: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#pages > div').length === {n} && "
                           "[...document.querySelectorAll('#pages .status')].every(s => s.textContent.startsWith('done'))",
                           timeout=120_000)


def test_the_viewer_as_a_transcription_tool(scans, tmp_path):
    server = Loopback()
    server.files["/book/manifest.json"] = json.dumps({"sequences": [{"canvases": [
        {"@id": "c1", "images": [{"resource": {"@id": f"{server.url}/img.jpg"}}]}]}]}).encode()
    server.files["/img.jpg"] = (scans / "200010454_00012_1.jpg").read_bytes()
    try:
        with running_server(tmp_path / "data", allow_local=True) as url, browser_page() as page:
            page.on("dialog", lambda d: d.accept())
            page.goto(url + "/")
            assert page.locator("#empty").is_visible()
            # the modern text is set in a plain Japanese face
            family = page.eval_on_selector("#text", "e => getComputedStyle(e).fontFamily")
            assert family.strip('"').startswith("IPAGothic")
            if "IPAGothic" in subprocess.run(["fc-list"], capture_output=True, text=True).stdout:
                assert page.evaluate("document.fonts.check('24px IPAGothic', 'き')")
            # two sides of one leaf: full names; the same two again: marked as duplicates
            sides = [str(scans / f"200010454_00012_{s}.jpg") for s in "12"]
            page.set_input_files("#upload", sides)
            _wait_pages(page, 2)
            names = page.locator("#pages .name").all_inner_texts()
            assert sorted(names) == ["200010454_00012_1.jpg", "200010454_00012_2.jpg"]
            page.set_input_files("#upload", sides[:1])
            page.wait_for_selector("#message:has-text('already here before: 200010454_00012_1.jpg')")
            _wait_pages(page, 3)
            assert page.locator("#pages .dup").count() == 2
            page.locator("#pages > div").nth(2).locator(".del").click()  # confirmed by the dialog handler
            _wait_pages(page, 2)
            # a PDF: each page a page, in order; a IIIF manifest URL: its canvases
            page.set_input_files("#upload", str(scans / "book.pdf"))
            _wait_pages(page, 4)
            assert page.locator("#pages .name").all_inner_texts()[2:] == ["book.pdf p0001", "book.pdf p0002"]
            page.fill("#manifest-url", f"{server.url}/book/manifest.json")
            page.press("#manifest-url", "Enter")
            _wait_pages(page, 5)
            # one label size on the page, readable at the fit zoom
            page.locator("#pages > div").first.click()
            page.wait_for_selector("#boxes .box")
            heights = page.eval_on_selector_all("#boxes .label", "ls => ls.map(l => l.getBoundingClientRect().height)")
            assert max(heights) - min(heights) < 2 and 10 <= max(heights) <= 34
            # keyboard: n selects a low-confidence character, a key types its replacement, Enter saves it
            page.locator("#viewer").click(position={"x": 5, "y": 5})
            page.keyboard.press("n")
            sel = page.locator("#boxes .box.selected")
            assert "low" in sel.get_attribute("class")
            first = sel.get_attribute("data-i")
            page.keyboard.press("x")
            assert page.input_value("#type-char") == "x"
            page.keyboard.press("Enter")
            page.wait_for_function(f"document.querySelector('#boxes .box[data-i=\"{first}\"]').classList.contains('corrected')")
            page.wait_for_function(f"document.querySelector('#boxes .box.selected')?.dataset.i !== '{first}'")
            # Enter on the next one accepts its reading: reviewed, no longer marked low
            nxt = page.locator("#boxes .box.selected").get_attribute("data-i")
            page.keyboard.press("Enter")
            page.wait_for_function(f"!document.querySelector('#boxes .box[data-i=\"{nxt}\"]').classList.contains('low')")
            page.keyboard.press("ArrowDown")
            # the history says who changed what
            page.click("#history-panel summary")
            page.wait_for_selector("#history li")
            assert "→ x" in page.locator("#history").inner_text()
            # the corrected page and the whole book, through the CLI's exporters
            with page.expect_download() as dl:
                page.select_option("#download", "page:tei")
            tei = open(dl.value.path(), encoding="utf-8").read()
            assert tei.startswith("<?xml") and "<TEI" in tei and ">x</c>" in tei
            with page.expect_download() as dl:
                page.select_option("#download", "book:txt")
            z = zipfile.ZipFile(io.BytesIO(open(dl.value.path(), "rb").read()))
            assert len([n for n in z.namelist() if n.endswith(".txt") and n != "book.txt"]) == 5
            assert "x" in z.read("book.txt").decode()
    finally:
        server.close()
