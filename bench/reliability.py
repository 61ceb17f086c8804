"""Reliability table: hostile inputs (outcome and peak memory of each), kill -9 + --resume equivalence at
random kill points, and `evaluate` at the competition's scale.

    python bench/reliability.py [--pages DIR] [--kills 20] [--eval-pages 4000]

Every case runs the real `kuzushiji` command in a child process; peak memory is the child's max RSS.
"""
from __future__ import annotations

import argparse
import csv
import filecmp
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
KZ = [sys.executable, "-m", "kuzushiji.cli"]


def run(args: list[str], timeout: float = 600) -> tuple[int, str, float, float]:
    """(exit status, stderr, seconds, peak RSS in MB of this child, from wait4)."""
    with tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        p = subprocess.Popen(KZ + args, stdout=subprocess.DEVNULL, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return p.returncode, err.read(), dt, usage.ru_maxrss / 1024


def make_corpus(page: Path, d: Path) -> dict[str, Path]:
    """The hostile cases of the reliability issue, generated from one real page."""
    data = page.read_bytes()
    c = {"good.jpg": page}
    (d / "trunc30.jpg").write_bytes(data[: len(data) * 3 // 10])
    (d / "trunc90.jpg").write_bytes(data[: len(data) * 9 // 10])
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.png").write_text("not an image")
    big = bytearray(data)
    i = big.find(b"\xff\xc0")
    big[i + 5: i + 9] = (20000).to_bytes(2, "big") * 2
    (d / "header20000.jpg").write_bytes(bytes(big))
    Image.new("1", (30000, 30000)).save(d / "png30000_named.jpg", format="PNG")
    g = np.asarray(Image.open(page).convert("L"))
    Image.fromarray(g.astype(np.uint16) * 257).save(d / "gray16.png")
    Image.open(page).convert("CMYK").save(d / "cmyk.jpg")
    Image.open(page).convert("RGBA").save(d / "rgba.png")
    for name in ("trunc30.jpg", "trunc90.jpg", "empty.jpg", "text.png", "header20000.jpg", "png30000_named.jpg",
                 "gray16.png", "cmyk.jpg", "rgba.png"):
        c[name] = d / name
    # round two (the 2026-12-06 report): frames, JPEG structure, pixel values
    pg = Image.open(page).convert("L").resize((600, 968))
    blank = Image.new("L", pg.size, 255)
    blank.save(d / "frames_blank_first.tif", save_all=True, append_images=[pg])
    pg.save(d / "frames3.gif", save_all=True, append_images=[blank, pg])
    blank.save(d / "apng.png", save_all=True, append_images=[pg], duration=100)
    buf = bytearray(data)
    mid = len(buf) // 2
    for q in range(mid, mid + 2000, 7):
        buf[q] = buf[q] ^ 0x5A if buf[q] != 0xFF else buf[q]
    (d / "corrupt_mid.jpg").write_bytes(bytes(buf))
    (d / "motion_photo.jpg").write_bytes(data + np.random.RandomState(0).bytes(200_000))
    Image.fromarray(np.asarray(pg, np.float32) * 1000).save(d / "float_big.tif")
    for name in ("frames_blank_first.tif", "frames3.gif", "apng.png", "corrupt_mid.jpg", "motion_photo.jpg",
                 "float_big.tif"):
        c[name] = d / name
    return c


def round_two_cases(page: Path, work: Path) -> list[tuple[str, list[str], str]]:
    """(case, CLI arguments, what the one error line must name) for the arrays, memories, manifests and
    options of the round-two report; made here (small files) and run through the CLI like the pages."""
    import io
    import json
    import zipfile

    from numpy.lib import format as npy

    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (100, 20000, 20000)})
    with zipfile.ZipFile(work / "header_bomb.npz", "w") as z:
        z.writestr("arr_0.npy", header.getvalue() + bytes(64))
    np.savez_compressed(work / "zip_bomb.npz", np.zeros((1, 30000, 30000), np.uint8))
    np.savez(work / "bad_meta.npz", features=np.zeros((1, 4), np.float16), labels=np.zeros(1, np.int32),
             meta=np.array(json.dumps([1])))
    (work / "malformed.json").write_text('{"sequences": [{"canvases": [1]}]}')
    (work / "deep.json").write_text('{"items": ' + "[" * 100000 + "]" * 100000 + "}")
    canvas = {"sequences": [{"canvases": [{"@id": "c", "images": [{"resource": {"@id": "file:///etc/passwd"}}]}]}]}
    (work / "file_canvas.json").write_text(json.dumps(canvas))
    canvas["sequences"][0]["canvases"][0]["images"][0]["resource"]["@id"] = "http://127.0.0.1:9/admin"
    (work / "loopback_canvas.json").write_text(json.dumps(canvas))
    o = str(work / "o2")
    return [("npz header 40 GB", ["classify", str(work / "header_bomb.npz")], "header_bomb.npz"),
            ("npz 875 KB -> 900 MB", ["classify", str(work / "zip_bomb.npz")], "zip_bomb.npz"),
            ("--memory meta [1]", ["recognize", str(page), "-o", o, "--memory", str(work / "bad_meta.npz")],
             "bad_meta.npz"),
            ("manifest canvases [1]", ["recognize", str(work / "malformed.json"), "-o", o], "malformed.json"),
            ("manifest 100000 deep", ["recognize", str(work / "deep.json"), "-o", o], "deep.json"),
            ("canvas file:///etc", ["recognize", str(work / "file_canvas.json"), "-o", o], "file:///etc/passwd"),
            ("canvas 127.0.0.1", ["recognize", str(work / "loopback_canvas.json"), "-o", o], "127.0.0.1:9"),
            ("memory -o /proc/x.npz", ["memory", str(work), "-o", "/proc/x.npz"], "/proc/x.npz")]


def hostile_table(page: Path, work: Path) -> list[tuple[str, str, int, float, float]]:
    """Each case through the CLI. The corpus is made in a spawned child, so the children's peak RSS
    (inherited across fork + exec) is theirs, not this process's."""
    rows = []
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as ex:
        corpus = ex.submit(make_corpus, page, work).result()
    for name, p in corpus.items():
        rc, err, dt, mb = run(["recognize", str(p), "-o", str(work / f"out_{name}"), "--quiet"])
        lines = [x for x in err.splitlines() if x.startswith("error")]
        n = len(list((work / f"out_{name}").glob("*.json")))
        outcome = f"correct output ({n} page(s))" if rc == 0 else (f"clear error: {lines[0][7:90]}" if len(lines) == 1 and str(p) in lines[0]
                                                    else f"UNCLEAR ({err.strip()[-80:]})")
        rows.append((name, outcome, rc, dt, mb))
    npz = work / "u16.npz"
    np.savez(npz, np.zeros((4, 28, 28), np.uint16))
    np.savez(work / "nan.npz", np.full((4, 28, 28), np.nan))
    for name in ("u16.npz", "nan.npz"):
        rc, err, dt, mb = run(["classify", str(work / name)])
        rows.append((f"classify {name}", "correct output" if rc == 0 else f"clear error: {err.strip()[7:90]}", rc, dt, mb))
    for flag in ("--threshold", "--pdf-dpi"):
        rc, err, dt, mb = run(["recognize", str(page), "-o", str(work / "o"), flag, "nan"])
        rows.append((f"{flag} nan", f"usage error: {err.strip().splitlines()[-1][:80]}", rc, dt, mb))
    for name, args, names in round_two_cases(page, work):
        rc, err, dt, mb = run(args)
        lines = [x for x in err.splitlines() if x.startswith("error") and x != "error: no input pages found"]
        outcome = (f"clear error: {lines[0][7:90]}" if rc != 0 and len(lines) == 1 and names in lines[0]
                   else f"UNCLEAR ({err.strip()[-80:]})")
        rows.append((name, outcome, rc, dt, mb))
    return rows


def kill_resume(pages: list[Path], work: Path, kills: int, seed: int = 0) -> tuple[int, int]:
    """Run a batch to the end once; then, ``kills`` times, start it, kill -9 at a random moment, and
    finish with --resume. Count how often the resumed folder equals the uninterrupted one."""
    ref = work / "ref"
    subprocess.run(KZ + ["recognize", *map(str, pages), "-o", str(ref), "--overlay", "--quiet"], check=True)
    # uninterrupted time, to spread the kill points over the whole run
    t = time.perf_counter()
    subprocess.run(KZ + ["recognize", *map(str, pages), "-o", str(work / "timing"), "--overlay", "--quiet"], check=True)
    total = time.perf_counter() - t
    rng = random.Random(seed)
    same = 0
    for k in range(kills):
        out = work / f"kill{k}"
        p = subprocess.Popen(KZ + ["recognize", *map(str, pages), "-o", str(out), "--overlay", "--quiet"])
        time.sleep(rng.uniform(0.2, total))
        p.kill()
        p.wait()
        subprocess.run(KZ + ["recognize", *map(str, pages), "-o", str(out), "--overlay", "--quiet", "--resume"],
                       check=True, capture_output=True)
        names = sorted(q.name for q in ref.iterdir() if q.name != ".kuzushiji.lock")
        got = sorted(q.name for q in out.iterdir() if q.name != ".kuzushiji.lock")
        ok = names == got and all(filecmp.cmp(ref / n, out / n, shallow=False) for n in names if not n.endswith(".jpg"))
        same += ok
        print(f"kill {k + 1:>2}/{kills}: {'identical' if ok else 'DIFFERENT'}", file=sys.stderr)
    return same, kills


def evaluate_scale(truth_csv: Path, n_pages: int, work: Path) -> tuple[float, float, float]:
    """A truth/prediction pair of ``n_pages`` pages made by repeating the dev pages (with jitter); returns
    (MB of the two files, seconds, peak MB) of `kuzushiji evaluate`."""
    rows = list(csv.reader(open(truth_csv, encoding="utf-8")))[1:]
    rng = np.random.default_rng(0)
    t_path, p_path = work / "big_truth.csv", work / "big_pred.csv"
    with open(t_path, "w", newline="") as ft, open(p_path, "w", newline="") as fp:
        wt, wp = csv.writer(ft), csv.writer(fp)
        wt.writerow(["image_id", "labels"])
        wp.writerow(["image_id", "labels"])
        for i in range(n_pages):
            image_id, labels = rows[i % len(rows)]
            parts = labels.split()
            one = [parts[j: j + 5] for j in range(0, len(parts), 5)]
            # 6 copies of a dev page side by side (~600 characters a page, like a dense Kaggle page)
            groups = [[c, str(int(x) + 3000 * k), y, w, h] for k in range(6) for c, x, y, w, h in one]
            wt.writerow([f"p{i}", " ".join(" ".join(g) for g in groups)])
            pts = []
            for c, x, y, w, h in groups:
                cx, cy = float(x) + float(w) / 2 + rng.normal(0, 3), float(y) + float(h) / 2 + rng.normal(0, 3)
                pts.append(f"{c} {cx:.0f} {cy:.0f}")
            wp.writerow([f"p{i}", " ".join(pts)])
    mb = (t_path.stat().st_size + p_path.stat().st_size) / 1e6
    rc, err, dt, peak = run(["evaluate", "--truth", str(t_path), "--pred", str(p_path), "--summary"])
    assert rc == 0, err
    return mb, dt, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", default=str(REPO.parent / "shared/data/kuzushiji_pages_100241706"))
    ap.add_argument("--kills", type=int, default=20, help="kill -9 + --resume rounds (0: skip)")
    ap.add_argument("--eval-pages", type=int, default=4000)
    a = ap.parse_args()
    images = sorted(Path(a.pages, "images").glob("*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = hostile_table(images[0], work)  # corpus made in a child: this process stays small
        print(f"{'case':<24} {'rc':>3} {'s':>6} {'peak MB':>8}  outcome")
        for name, outcome, rc, dt, mb in rows:
            print(f"{name:<24} {rc:>3} {dt:>6.2f} {mb:>8.0f}  {outcome}")
        worst = max(rows, key=lambda r: r[4])
        print(f"\nworst peak memory: {worst[4]:.0f} MB ({worst[0]})")
        batch = work / "batch"
        batch.mkdir()
        for k, p in enumerate(images * 2):  # 8 pages
            shutil.copy(p, batch / f"{k:02d}_{p.name}")
        same, n = kill_resume(sorted(batch.iterdir()), work, a.kills)
        print(f"kill -9 + --resume: {same}/{n} resumed folders identical to an uninterrupted run "
              "(JSON, TXT, submission.csv byte for byte; overlays present)")
        mb, dt, peak = evaluate_scale(Path(a.pages, "train.csv"), a.eval_pages, work)
        print(f"evaluate: {a.eval_pages} pages, {mb:.0f} MB truth + prediction: {dt:.1f} s, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
