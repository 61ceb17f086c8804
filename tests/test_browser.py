"""The viewer in a real headless Chromium (Debian's, driven by Playwright): upload a page, see its boxes,
hover one for its candidates, correct a character, reload and see the correction, export it."""
from __future__ import annotations

import io
import zipfile

import pytest

pytest.importorskip("playwright")
pytest.importorskip("fastapi")
from kuzushiji.server.local import browser_page, chromium_path, running_server  # noqa: E402
from conftest import REPO  # noqa: E402

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed (make setup)")


def test_read_and_correct_a_page_in_the_browser(tmp_path):
    with running_server(tmp_path / "data") as url, browser_page() as page:
        page.goto(url + "/")
        page.set_input_files("#upload", str(REPO / "samples/100241706_00004_2.jpg"))
        page.wait_for_selector("#boxes .box", timeout=60_000)
        n = page.locator("#boxes .box").count()
        assert n > 50 and page.locator("#text .ch").count() == n
        # hover: the top-5 candidates with probabilities
        first = page.locator("#boxes .box").nth(3)
        first.hover()
        assert page.locator("#tip").is_visible() and page.locator("#tip tr").count() == 5
        # click the 4th character in the text: its box is selected (text -> box)
        page.locator("#text .ch").nth(3).click()
        i = page.locator("#text .ch").nth(3).get_attribute("data-i")
        assert "selected" in page.locator(f'#boxes .box[data-i="{i}"]').get_attribute("class")
        # pick the second candidate
        old = page.locator("#sel-code").inner_text()
        cand = page.locator("#candidates button").nth(1)
        new_code = cand.get_attribute("data-code")
        assert new_code != old
        cand.click()
        page.wait_for_selector("#message:has-text('saved')")
        # type a character for another one
        page.locator("#text .ch").nth(5).click()
        page.fill("#type-char", "源")
        page.press("#type-char", "Enter")
        page.wait_for_function("document.querySelectorAll('#text .ch.corrected').length === 2")
        # reload: the corrections are in the database
        page.reload()
        page.wait_for_selector("#boxes .box.corrected")
        assert page.locator("#boxes .box.corrected").count() == 2
        assert "源" in page.locator("#text").inner_text()
        # box -> text: clicking a box selects its character in the text
        page.locator("#boxes .box").nth(10).click()
        assert page.locator("#text .ch.selected").count() == 1
        # move the selected box by dragging it; Ctrl+Z takes the move back
        box = page.locator("#boxes .box.selected")
        before = box.bounding_box()
        page.mouse.move(before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
        page.mouse.down()
        page.mouse.move(before["x"] + before["width"] / 2 + 30, before["y"] + before["height"] / 2 + 10, steps=5)
        page.mouse.up()
        page.wait_for_function("document.querySelectorAll('#text .ch.corrected').length === 3")
        moved = page.locator("#boxes .box.selected").bounding_box()
        assert abs(moved["x"] - before["x"] - 30) < 3 and abs(moved["y"] - before["y"] - 10) < 3
        page.keyboard.press("Control+z")
        page.wait_for_function("document.querySelectorAll('#text .ch.corrected').length === 2")
        # export: the corrected page as train.csv + image
        with page.expect_download() as dl:
            page.click("#export")
        z = zipfile.ZipFile(io.BytesIO(open(dl.value.path(), "rb").read()))
        rows = z.read("train.csv").decode().splitlines()
        assert len(rows) == 2 and new_code in rows[1] and "U+6E90" in rows[1]
        assert any(n.startswith("train_images/") for n in z.namelist())
