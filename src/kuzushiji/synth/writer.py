"""Write synthetic datasets: pages in the Kaggle layout, or class-balanced glyph crops as arrays."""
from __future__ import annotations

import json
import multiprocessing as mp
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..io.atomic import atomic_open
from ..io.crop import crop_box
from ..io.kaggle import write_train_csv
from ..structures import CharBox
from .glyphs import GlyphBank, LabelledGlyphs
from .page import PageConfig, PageRenderer
from .paper import PaperBank, default_paper_files
from .stats import load_stats
from .text import BalancedText, ColumnTexts, default_text_files

_worker: dict = {}


def page_seed(seed: int, index: int) -> int:
    """Each page has its own seed: the output does not depend on the number of workers."""
    return seed * 1_000_003 + index


def _init(shared: str, cfg: dict, exclude_fonts: tuple[str, ...], balanced: list[str] | None,
          only_fonts: tuple[str, ...] = (), glyphs: tuple[str, ...] = ()) -> None:
    """Per worker process (started by a fork server: OpenCV and onnxruntime thread pools do not survive a fork)."""
    cv2.setNumThreads(1)
    bank = GlyphBank(exclude_fonts=exclude_fonts, only_fonts=only_fonts)
    text = BalancedText(balanced) if balanced else ColumnTexts.from_files(default_text_files(shared))
    files = default_paper_files(shared) if cfg["real_paper"] > 0 else []
    paper = PaperBank(files) if files else None
    real = LabelledGlyphs(list(glyphs), progress=False) if glyphs else None
    _worker["r"] = PageRenderer(bank, text, load_stats(), PageConfig(**cfg), paper, real)


def _page_job(args: tuple[int, int, str, int]) -> tuple[str, list[CharBox]]:
    seed, index, out_dir, quality = args
    rng = np.random.default_rng(page_seed(seed, index))
    page = _worker["r"].render(rng)
    image_id = f"synth_{seed}_{index:06d}"
    q = int(rng.integers(max(30, quality - 40), quality + 1))
    ok, buf = cv2.imencode(".jpg", page.image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    with atomic_open(Path(out_dir) / "train_images" / f"{image_id}.jpg", "wb") as f:
        f.write(buf.tobytes())
    return image_id, page.boxes


def generate_pages(out: str | Path, n: int, seed: int = 0, workers: int = 2, shared: str | Path = "../shared/data",
                   cfg: PageConfig | None = None, exclude_fonts: tuple[str, ...] = (), quality: int = 92,
                   glyphs: tuple[str, ...] = ()) -> Path:
    """Render ``n`` pages into ``out/train_images`` and ``out/train.csv`` (the Kaggle layout); ``glyphs``:
    labelled crop sources (``--source`` specs) whose real glyphs the hands may write with. With ``workers > 1``
    the workers start from a fork server, so a calling script needs an ``if __name__ == "__main__":`` guard."""
    out = Path(out)
    (out / "train_images").mkdir(parents=True, exist_ok=True)
    cfg = cfg or PageConfig()
    jobs = [(seed, i, str(out), quality) for i in range(n)]
    init = (str(shared), asdict(cfg), exclude_fonts, None, (), glyphs)
    rows: dict[str, list[CharBox]] = {}
    if workers > 1:
        with mp.get_context("forkserver").Pool(workers, _init, init) as pool:
            for image_id, boxes in tqdm(pool.imap(_page_job, jobs, chunksize=4), total=n, desc="synth pages"):
                rows[image_id] = boxes
    else:
        _init(*init)
        for j in tqdm(jobs, desc="synth pages"):
            image_id, boxes = _page_job(j)
            rows[image_id] = boxes
    write_train_csv(out / "train.csv", rows)
    with atomic_open(out / "synth.json", "w") as f:
        json.dump({"n": n, "seed": seed, "config": asdict(cfg), "exclude_fonts": list(exclude_fonts),
                   "glyphs": list(glyphs)}, f, indent=1)
    return out


def _crop_job(args: tuple[int, int, int]) -> tuple[np.ndarray, list[str]]:
    seed, index, size = args
    rng = np.random.default_rng(page_seed(seed, index))
    page = _worker["r"].render(rng)
    gray = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)
    crops = [crop_box(gray, b, size, rng, jitter=0.06) for b in page.boxes]
    return (np.stack(crops) if crops else np.zeros((0, size, size), np.uint8)), [b.code for b in page.boxes]


def generate_crops(out: str | Path, codes: list[str], per_class: int, size: int = 48, seed: int = 0, workers: int = 2,
                   exclude_fonts: tuple[str, ...] = (), height: int = 1200, only_fonts: tuple[str, ...] = (),
                   jibo: float = 0.0, shared: str | Path = "../shared/data", glyphs: tuple[str, ...] = (),
                   cfg: PageConfig | None = None) -> Path:
    """Class-balanced glyph crops cut from synthetic pages (same renderer and degradations).

    Writes ``images.npy`` (N, size, size) uint8 dark-on-light, ``labels.npy`` (N,) int64 indices into
    ``codes``, and ``index.json`` (index -> code point and character).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chars = [chr(int(c[2:], 16)) for c in codes]
    cfg = cfg or PageConfig(height=height, furigana=0.3, spread=0.0, seal=0.05, illustration=0.05, jibo=jibo)
    target = per_class * len(codes)
    init = (str(shared), asdict(cfg), exclude_fonts, chars, only_fonts, glyphs)
    index = {c: i for i, c in enumerate(codes)}
    imgs, labels = [], []
    counts = np.zeros(len(codes), np.int64)
    jobs = ((seed, i, size) for i in range(10**9))
    with mp.get_context("forkserver").Pool(workers, _init, init) as pool, tqdm(total=target, desc="synth crops") as bar:
        for crops, cs in pool.imap(_crop_job, jobs, chunksize=2):
            for im, c in zip(crops, cs):
                k = index[c]
                if counts[k] < per_class:
                    counts[k] += 1
                    imgs.append(im)
                    labels.append(k)
                    bar.update(1)
            if len(labels) >= target or bar.n >= target or _nearly_full(counts, per_class):
                break
    np.save(out / "images.npy", np.stack(imgs))
    np.save(out / "labels.npy", np.array(labels, np.int64))
    (out / "index.json").write_text(json.dumps(
        {"codes": codes, "chars": chars, "counts": counts.tolist(), "size": size, "exclude_fonts": list(exclude_fonts),
         "only_fonts": list(only_fonts)},
        ensure_ascii=False), encoding="utf-8")
    return out


def _nearly_full(counts: np.ndarray, per_class: int) -> bool:
    """Stop when the few classes still short are those the fonts rarely draw."""
    return bool((counts >= per_class * 0.9).mean() > 0.995)
