"""docs/viewer.png: the viewer on the bundled sample, one character selected with its candidates, in
Debian's headless Chromium. usage: python scripts/viewer_screenshot.py [-o docs/viewer.png]"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from kuzushiji.server.local import browser_page, running_server

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-o", "--output", default=str(REPO / "docs/viewer.png"))
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as url, browser_page(1400, 860) as page:
        page.goto(url + "/")
        page.fill("#user", "reader")
        page.set_input_files("#upload", str(REPO / "samples/100241706_00004_2.jpg"))
        page.wait_for_selector("#boxes .box", timeout=60_000)
        page.locator("#text .ch").nth(8).click()  # select: its box, its candidates
        page.locator("#boxes .box.low").first.hover()  # a low-confidence box: candidates on hover
        page.wait_for_timeout(300)
        page.screenshot(path=a.output)
    print(a.output)


if __name__ == "__main__":
    main()
