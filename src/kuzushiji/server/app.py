"""The FastAPI app of ``kuzushiji serve``: a REST API over the store and a worker pool that reads uploaded
pages, and the viewer (static files, no build step). Models are loaded once; pages are read in a thread
pool (onnxruntime releases the GIL), so the server answers while pages are read."""
from __future__ import annotations

import asyncio
import io
import math
import os
import re
import threading
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Callable, Iterator

from fastapi import FastAPI, File, HTTPException, Path as PathParam, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from ..errors import DataError
from ..io.atomic import atomic_write_bytes, image_bytes
from ..io.image import IMAGE_SUFFIXES, MAX_PIXELS, decode_image
from ..io.kaggle import format_boxes
from ..io.output_folder import page_labels
from ..structures import CharBox
from ..vocab import CODE_RE
from .security import LOOPBACK_HOSTS, TOKEN_COOKIE, Guard, GuardMiddleware, check_token
from .store import Conflict, NotFound, Store

PAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 50 << 20
MAX_REQUEST_BYTES = 200 << 20  # one upload request, all its files
MAX_COORD = 1e6  # no page is this large (MAX_PIXELS); refuses 1e308 and infinity
MAX_INT = 2 ** 62  # versions and ids stay within a database integer
Version = Field(ge=0, le=MAX_INT)
STAGED = ".staged-"  # upload files not yet committed (removed at start-up)


class Box(BaseModel, allow_inf_nan=False):
    x: float = Field(ge=0, le=MAX_COORD)
    y: float = Field(ge=0, le=MAX_COORD)
    w: float = Field(gt=0, le=MAX_COORD)
    h: float = Field(gt=0, le=MAX_COORD)

    def tuple(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


class CharEdit(BaseModel):
    version: int = Version
    user: str = Field(default="anonymous", max_length=100)
    char: str | None = Field(default=None, min_length=1, max_length=2)  # a character, or U+XXXX in ``code``
    code: str | None = Field(default=None, max_length=10)
    box: Box | None = None


class CharNew(BaseModel):
    user: str = Field(default="anonymous", max_length=100)
    char: str | None = Field(default=None, min_length=1, max_length=2)
    code: str | None = Field(default=None, max_length=10)
    box: Box


class Who(BaseModel):
    user: str = Field(default="anonymous", max_length=100)
    version: int | None = Field(default=None, ge=0, le=MAX_INT)


class Order(BaseModel):
    user: str = Field(default="anonymous", max_length=100)
    chars: list[int] = Field(min_length=1, max_length=2000)
    versions: list[int] = Field(min_length=1, max_length=2000)  # the version of each char as the client saw it


class Login(BaseModel):
    token: str = Field(max_length=200)


class Manifest(BaseModel):
    url: str = Field(max_length=2000)


BOOK_FORMATS = ("txt", "tei", "page", "alto")
MEDIA = {"txt": "text/plain; charset=utf-8", "tei": "application/xml", "page": "application/xml",
         "alto": "application/xml"}
MAX_PDF_PAGES = 500  # a PDF or manifest uploaded at once
PDF_DPI = 200


CharId = PathParam(ge=1, le=MAX_INT)


def _code(char: str | None, code: str | None) -> str:
    if code:
        code = code.upper()
        if not CODE_RE.match(code):
            raise HTTPException(422, f"not a code point: {code!r} (expected U+XXXX)")
        return code
    if not char or len(char) != 1:
        raise HTTPException(422, "give one character (char) or its code point (code)")
    return f"U+{ord(char):04X}"


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name or "page").stem)[:40].strip("_")
    return stem or "page"


def create_app(data: str | Path, db_url: str | None = None, workers: int = 1,
               recognizer: Callable[[], object] | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               max_pixels: int = MAX_PIXELS, max_request_bytes: int = MAX_REQUEST_BYTES,
               allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS, auth: bool = False, allow_local: bool = False) -> FastAPI:
    """The app over ``data`` (uploaded scans in ``data/images``; the database ``data/kuzushiji.sqlite``
    unless ``db_url``). ``recognizer`` builds the recognizer (default: the bundled models). Requests must
    name one of ``allowed_hosts``; state changes must come from the page's own origin; with ``auth``, every
    API call needs a user's token (:mod:`kuzushiji.server.security`). ``allow_local``: IIIF manifests may be on
    loopback or private addresses and name local files (as the CLI's ``--allow-local``)."""
    data = Path(data)
    (data / "images").mkdir(parents=True, exist_ok=True)
    for left in (data / "images").glob(STAGED + "*"):  # an upload a stopped server never committed
        left.unlink(missing_ok=True)
    store = Store(db_url or Store.sqlite_url(data))
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="recognize")
    decoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="decode")  # uploads: never on the event loop
    lock = threading.Lock()
    models: dict = {}

    def get_recognizer():
        with lock:  # loaded once, on first use
            if "rec" not in models:
                if recognizer is not None:
                    models["rec"] = recognizer()
                else:
                    from ..predictor import Recognizer

                    models["rec"] = Recognizer()
            return models["rec"]

    def image_path(row: dict) -> Path:
        p = (data / "images" / row["image"]).resolve()
        if p.parent != (data / "images").resolve():  # only names the server made itself are ever opened
            raise HTTPException(404, "unknown page")
        return p

    def read(page_id: str) -> None:
        row: dict = {}
        try:
            store.set_status(page_id, "processing")
            row = store.page_row(page_id)
            p = image_path(row)
            page = get_recognizer().recognize(decode_image(p.read_bytes(), row["name"], "L", max_pixels), page_id)
            store.save_result(page)
        except NotFound:
            return  # deleted while queued
        except DataError as e:
            store.set_status(page_id, "failed", str(e))
        except Exception as e:  # one bad page never stops the server
            store.set_status(page_id, "failed", f"{row.get('name', page_id)}: {e.__class__.__name__}: {e}")

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        pool.shutdown(wait=False, cancel_futures=True)
        decoder.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="kuzushiji", version="0.1", lifespan=lifespan,
                  description="Read kuzushiji pages and correct them; every correction becomes training data.")
    app.state.store, app.state.pool = store, pool
    app.add_middleware(GuardMiddleware, guard=Guard(tuple(allowed_hosts), max_request_bytes,
                                                    store.user_secret if auth else None))

    def who(request: Request, claimed: str) -> str:
        """The user of a request: its token's under ``auth``, else the name the client gives."""
        return request.scope.get("state", {}).get("user") or claimed
    for row in store.pages():  # pages a stopped server left unread are read now
        if row["status"] in ("queued", "processing"):
            pool.submit(read, row["id"])

    def page_or_404(page_id: str) -> dict:
        if not PAGE_ID.match(page_id):
            raise HTTPException(404, "unknown page")
        try:
            return store.page_row(page_id)
        except NotFound:
            raise HTTPException(404, f"unknown page {page_id}") from None

    def done_page(page_id: str) -> dict:
        row = page_or_404(page_id)
        if row["status"] != "done":
            raise HTTPException(409, f"page {page_id} is {row['status']}" + (f": {row['error']}" if row["error"] else ""))
        return store.page_dict(page_id)

    def check_upload(blob: bytes, name: str) -> tuple[int, int]:
        try:
            h, w = decode_image(blob, name, "L", max_pixels).shape
        except DataError as e:
            raise HTTPException(413 if "too large" in e.problem else 415, str(e)) from None
        return w, h

    def pdf_pages(blob: bytes, name: str) -> list[tuple[str, bytes, int, int]]:
        """Each page of an uploaded PDF as ``(name, PNG bytes, w, h)``, in order (the CLI's renderer and limits)."""
        import tempfile

        from PIL import Image

        from ..io.atomic import image_bytes as encode
        from ..io.pdf import pdf_page_count, render_pdf_page

        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(blob)
            f.flush()
            try:
                n = pdf_page_count(f.name)
                if n > MAX_PDF_PAGES:
                    raise DataError(name, f"{n} pages; the web app takes at most {MAX_PDF_PAGES} a PDF")
                out = []
                for i in range(n):
                    rgb = render_pdf_page(f.name, i, PDF_DPI, max_pixels)
                    out.append((f"{name} p{i + 1:04d}", encode(Image.fromarray(rgb).convert("L"), "PNG"),
                                rgb.shape[1], rgb.shape[0]))
                return out
            except DataError as e:
                raise HTTPException(413 if "too large" in e.problem else 415,
                                    f"{name}: {e.problem}".replace(f.name, name)) from None

    def commit(staged: list[tuple[str, str, Path, int, int]]) -> list[dict]:
        """Store staged files as pages (in order) and queue them; each answer notes earlier pages of that name."""
        names = {}
        for p in store.pages():
            names.setdefault(p["name"], []).append(p["id"])
        out = []
        for page_id, name, tmp, w, h in staged:
            image = tmp.name[len(STAGED):]
            os.replace(tmp, data / "images" / image)
            store.add_page(page_id, name, image, w, h)
            pool.submit(read, page_id)
            out.append({"id": page_id, "name": name, "status": "queued", "width": w, "height": h,
                        "duplicate_of": names.get(name, [])})
        return out

    @contextmanager
    def staging() -> Iterator[list]:
        """The files of one request, staged on disk until :func:`commit`; whatever is not committed is removed."""
        staged: list[tuple[str, str, Path, int, int]] = []
        try:
            yield staged
        finally:
            for _, _, tmp, _, _ in staged:
                tmp.unlink(missing_ok=True)

    async def stage(loop, name: str, blob: bytes, w: int, h: int, staged: list) -> None:
        page_id = f"{_safe_stem(name)}-{uuid.uuid4().hex[:8]}"
        suffix = Path(name).suffix.lower()
        image = page_id + (suffix if suffix in IMAGE_SUFFIXES else ".png")  # readers sniff the content
        tmp = data / "images" / f"{STAGED}{image}"
        await loop.run_in_executor(decoder, atomic_write_bytes, tmp, blob)
        staged.append((page_id, name, tmp, w, h))

    @app.post("/api/pages", status_code=202, summary="Upload one or more page images; they are read in the background")
    async def upload(files: list[UploadFile] = File(...)) -> dict:
        loop = asyncio.get_running_loop()
        with staging() as staged:  # one file in memory at a time; the rest on disk
            for f in files:
                name = f.filename or "upload"
                blob = await f.read(max_upload_bytes + 1)
                if len(blob) > max_upload_bytes:
                    raise HTTPException(413, f"{name}: file too large (> {max_upload_bytes} bytes)")
                if blob[:5] == b"%PDF-":  # each page of a PDF is a page, in order
                    for pname, png, w, h in await loop.run_in_executor(decoder, pdf_pages, blob, name):
                        await stage(loop, pname, png, w, h, staged)
                    continue
                w, h = await loop.run_in_executor(decoder, check_upload, blob, name)
                await stage(loop, name, blob, w, h, staged)
                del blob
            return {"pages": commit(staged)}  # every file is valid: store them all

    def fetch_manifest(url: str) -> list[tuple[str, bytes]]:
        """The images of a IIIF manifest's canvases, fetched under the URL policy (the CLI's)."""
        from ..io.iiif import is_url
        from ..io.sources import expand_sources

        if not is_url(url):  # never a path on the server's disk
            raise HTTPException(422, f"{url}: give the manifest's http(s) URL")
        errors: list[str] = []
        sources = expand_sources([url], cache_dir=data / "iiif_cache", warn=errors.append, allow_local=allow_local)
        if errors or not sources:
            raise HTTPException(422, errors[0].removeprefix("error: ") if errors else f"{url}: no pages")
        if len(sources) > MAX_PDF_PAGES:
            raise HTTPException(413, f"{url}: {len(sources)} canvases; at most {MAX_PDF_PAGES}")
        out = []
        for src in sources:
            try:
                path = src.prefetch() if src.url else src.file
                blob = Path(path).read_bytes()
            except DataError as e:
                raise HTTPException(422, str(e)) from None
            if len(blob) > max_upload_bytes:
                raise HTTPException(413, f"{src.origin}: file too large (> {max_upload_bytes} bytes)")
            out.append((f"{src.page_id}.jpg", blob))
        return out

    @app.post("/api/manifests", status_code=202, summary="Read the canvases of a IIIF manifest URL as pages, in order")
    async def add_manifest(m: Manifest) -> dict:
        loop = asyncio.get_running_loop()
        with staging() as staged:
            for name, blob in await loop.run_in_executor(decoder, fetch_manifest, m.url):
                w, h = await loop.run_in_executor(decoder, check_upload, blob, name)
                await stage(loop, name, blob, w, h, staged)
            return {"pages": commit(staged)}

    def as_page(page_id: str):
        from ..structures import Page

        d = done_page(page_id)
        d["source"] = d["name"]
        return Page.from_dict(d)

    @app.get("/api/pages/{page_id}/export.{fmt}", summary="The corrected page as txt, tei, page (PAGE XML) or alto")
    def export_page(page_id: str, fmt: str) -> Response:
        from ..exporters import SUFFIXES, render

        if fmt not in BOOK_FORMATS:
            raise HTTPException(404, f"no format {fmt!r}; choose from {', '.join(BOOK_FORMATS)}")
        return Response(render(as_page(page_id), fmt), media_type=MEDIA[fmt], headers={
            "Content-Disposition": f'attachment; filename="{page_id}{SUFFIXES[fmt]}"'})

    @app.get("/api/export/{fmt}.zip", summary="The whole book (every read page, in upload order), corrected, in one "
                                              "format; txt also as one book.txt")
    def export_book(fmt: str) -> Response:
        from ..exporters import SUFFIXES, now_iso, render

        if fmt not in BOOK_FORMATS:
            raise HTTPException(404, f"no format {fmt!r}; choose from {', '.join(BOOK_FORMATS)}")
        buf, created, texts = io.BytesIO(), now_iso(), []
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for n, row in enumerate(store.pages("done")):
                page = as_page(row["id"])
                z.writestr(f"{n + 1:04d}_{row['id']}{SUFFIXES[fmt]}", render(page, fmt, created))
                texts.append(f"# {row['name']}\n{page.text}\n")
            if fmt == "txt":
                z.writestr("book.txt", "\n".join(texts))
        return Response(buf.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="book_{fmt}.zip"'})

    @app.get("/api/pages", summary="All pages with their status")
    def list_pages() -> dict:
        return {"pages": store.pages()}

    @app.get("/api/pages/{page_id}", summary="A page: the CLI's JSON (with corrections applied) and its status")
    def get_page(page_id: str) -> dict:
        row = page_or_404(page_id)
        if row["status"] != "done":
            return {"image_id": page_id, "name": row["name"], "status": row["status"], "error": row["error"],
                    "width": row["width"], "height": row["height"], "chars": [], "columns": [], "text": ""}
        return store.page_dict(page_id)

    @app.get("/api/pages/{page_id}/text", response_class=PlainTextResponse, summary="The text in reading order")
    def get_text(page_id: str) -> str:
        return done_page(page_id)["text"] + "\n"

    @app.get("/api/pages/{page_id}/csv", response_class=PlainTextResponse, summary="The submission CSV row")
    def get_csv(page_id: str) -> str:
        return f"image_id,labels\n{page_id},{page_labels(done_page(page_id))}\n"

    @app.get("/api/pages/{page_id}/image", summary="The uploaded scan")
    def get_image(page_id: str) -> FileResponse:
        return FileResponse(image_path(page_or_404(page_id)))

    @app.get("/api/pages/{page_id}/overlay.png", summary="The scan with the characters drawn")
    def get_overlay(page_id: str) -> Response:
        from ..visualize import draw_overlay

        d = done_page(page_id)
        rgb = decode_image(image_path(store.page_row(page_id)).read_bytes(), page_id, "RGB", max_pixels)
        im = draw_overlay(rgb, [CharBox(c["code"], *c["box"]) for c in d["chars"]])
        return Response(image_bytes(im, "PNG"), media_type="image/png")

    @app.delete("/api/pages/{page_id}", summary="Delete a page, its characters and corrections")
    def delete_page(page_id: str) -> dict:
        row = page_or_404(page_id)
        store.delete_page(page_id)
        image_path(row).unlink(missing_ok=True)
        return {"deleted": page_id}

    def guarded(fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except NotFound as e:
            raise HTTPException(404, f"unknown character {e}") from None
        except Conflict as e:
            return JSONResponse({"detail": str(e), "current": e.current}, status_code=409)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None

    def on_page(page: dict, box: Box | None) -> tuple[float, float, float, float] | None:
        """A box that lies on the page (a little slack), or 422."""
        if box is None:
            return None
        if box.x + box.w > page["width"] * 1.05 + 2 or box.y + box.h > page["height"] * 1.05 + 2:
            raise HTTPException(422, f"box {box.tuple()} lies outside the page ({page['width']}x{page['height']})")
        return box.tuple()

    @app.patch("/api/pages/{page_id}/chars/{cid}", summary="Correct a character: another reading and/or its box")
    def edit_char(page_id: str, e: CharEdit, request: Request, cid: int = CharId):
        box = on_page(done_page(page_id), e.box)
        code = _code(e.char, e.code) if (e.char or e.code) else None
        return guarded(store.edit_char, page_id, cid, e.version, who(request, e.user), code, box)

    @app.post("/api/pages/{page_id}/chars", status_code=201, summary="Add a box with its character")
    def add_char(page_id: str, e: CharNew, request: Request):
        box = on_page(done_page(page_id), e.box)
        return guarded(store.add_char, page_id, who(request, e.user), _code(e.char, e.code), box)

    @app.delete("/api/pages/{page_id}/chars/{cid}", summary="Delete a box (give the version you saw)")
    def delete_char(page_id: str, request: Request, cid: int = CharId, version: int = Query(ge=0, le=MAX_INT),
                    user: str = "anonymous"):
        done_page(page_id)
        return guarded(store.delete_char, page_id, cid, version, who(request, user[:100]))

    @app.put("/api/pages/{page_id}/order", summary="Fix the reading order of characters of one column (with the "
                                                   "version of each as you saw it)")
    def reorder(page_id: str, e: Order, request: Request):
        done_page(page_id)
        if len(set(e.chars)) != len(e.chars) or len(e.versions) != len(e.chars):
            raise HTTPException(422, "chars must be distinct, with one version each")
        return guarded(store.reorder_column, page_id, e.chars, who(request, e.user), e.versions)

    @app.post("/api/pages/{page_id}/undo", summary="Undo your latest correction on this page")
    def undo(page_id: str, e: Who, request: Request):
        done_page(page_id)
        r = guarded(store.undo, page_id, who(request, e.user))
        if r is None:
            raise HTTPException(409, "nothing to undo")
        return r

    @app.get("/api/pages/{page_id}/corrections", summary="Who corrected what, and when")
    def corrections(page_id: str) -> dict:
        page_or_404(page_id)
        return {"corrections": store.corrections(page_id)}

    @app.get("/api/export.zip", summary="Corrected pages as Kaggle train.csv + train_images/ (a zip)")
    def export_zip() -> Response:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for name, blob in export_files(store, data):
                z.writestr(name, blob)
        return Response(buf.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="corrections.zip"'})

    @app.exception_handler(DataError)
    async def _data_error(_: Request, e: DataError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        # where and what, never the input itself (it may be a whole file, a lone surrogate or a NaN)
        errors = [{"loc": [str(x) for x in err.get("loc", ())], "msg": str(err.get("msg", ""))[:200]}
                  for err in e.errors()[:20]]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.post("/api/login", summary="Trade a token (`kuzushiji users add NAME`) for a session cookie")
    def login(e: Login) -> Response:
        user = check_token(e.token, store.user_secret) if auth else None
        if auth and user is None:
            raise HTTPException(401, "unknown token")
        r = JSONResponse({"user": user, "auth": auth})
        if user:
            r.set_cookie(TOKEN_COOKIE, e.token, httponly=True, samesite="strict")
        return r

    @app.get("/api/me", summary="Who this session is (under serve --auth) and whether the server asks for tokens")
    def me(request: Request) -> dict:
        return {"user": who(request, ""), "auth": auth}

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def export_files(store: Store, data: Path) -> list[tuple[str, bytes]]:
    """Pages with at least one correction in effect, as ``train.csv`` (every live box, corrected or confirmed
    by being left as it was) and ``train_images/<page id><ext>``."""
    rows, files = [], []
    for p in store.pages("done"):
        if not p["n_corrections"]:
            continue
        d = store.page_dict(p["id"])
        boxes = [CharBox(c["code"], *(round(v) for v in c["box"])) for c in d["chars"]
                 if all(math.isfinite(v) for v in c["box"])]  # a box stored before boxes were checked
        rows.append(f"{p['id']},{format_boxes(boxes)}")
        try:
            files.append((f"train_images/{p['image']}", (data / "images" / p["image"]).read_bytes()))
        except OSError as e:
            raise DataError(data / "images" / p["image"], f"the image of page {p['id']} cannot be read "
                                                          f"({e.strerror or e})") from None
    return [("train.csv", ("image_id,labels\n" + "".join(r + "\n" for r in rows)).encode("utf-8"))] + files
