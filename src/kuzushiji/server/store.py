"""Pages, characters and corrections in a database (SQLite by default; any SQLAlchemy URL, e.g. PostgreSQL,
where a team shares one). Every change is one transaction; every correction is logged with who and when,
with the characters before and after, so it can be undone and exported. Edits carry the version of the
character they were made on: an edit of a character someone else changed since is a :class:`Conflict`."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from ..structures import Page
from ..vocab import code_to_char

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS pages (
        id VARCHAR(100) PRIMARY KEY, name TEXT NOT NULL, status VARCHAR(20) NOT NULL, error TEXT NOT NULL DEFAULT '',
        width INTEGER NOT NULL DEFAULT 0, height INTEGER NOT NULL DEFAULT 0, image TEXT NOT NULL, created TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS chars (
        page_id VARCHAR(100) NOT NULL, cid INTEGER NOT NULL, code VARCHAR(16) NOT NULL,
        x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL, col INTEGER NOT NULL, pos REAL NOT NULL,
        score REAL NOT NULL, det_score REAL NOT NULL, candidates TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 0, model TEXT NOT NULL DEFAULT '', PRIMARY KEY (page_id, cid))""",
    """CREATE TABLE IF NOT EXISTS corrections (
        id INTEGER PRIMARY KEY, page_id VARCHAR(100) NOT NULL, user_name TEXT NOT NULL, at TEXT NOT NULL,
        action VARCHAR(20) NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS corrections_page ON corrections (page_id, undone)",
    """CREATE TABLE IF NOT EXISTS users (
        name VARCHAR(64) PRIMARY KEY, salt TEXT NOT NULL, digest TEXT NOT NULL, created TEXT NOT NULL)""",
]
CHAR_FIELDS = ("cid", "code", "x", "y", "w", "h", "col", "pos", "score", "det_score", "candidates", "deleted", "version",
               "model")  # model: the recognizer's [code, x, y, w, h] ('' for a box a person added)


class Conflict(Exception):
    """The character changed since the client read it; ``current`` is what it is now."""

    def __init__(self, current: dict | None) -> None:
        super().__init__("the character was changed by someone else; reload to see the current state")
        self.current = current


class NotFound(Exception):
    pass


def now(precise: bool = False) -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds" if precise else "seconds")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; a crash mid-write rolls back
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        with self.engine.begin() as c:
            for stmt in SCHEMA:
                c.execute(text(stmt))

    @staticmethod
    def sqlite_url(folder: str | Path) -> str:
        return f"sqlite:///{Path(folder).resolve() / 'kuzushiji.sqlite'}"

    # pages ------------------------------------------------------------------------------------------
    def add_page(self, page_id: str, name: str, image: str, width: int, height: int) -> None:
        with self.engine.begin() as c:
            c.execute(text("INSERT INTO pages (id, name, status, width, height, image, created) "
                           "VALUES (:id, :name, 'queued', :w, :h, :image, :t)"),
                      dict(id=page_id, name=name, w=width, h=height, image=image, t=now(precise=True)))  # order kept

    def set_status(self, page_id: str, status: str, error: str = "") -> None:
        with self.engine.begin() as c:
            c.execute(text("UPDATE pages SET status = :s, error = :e WHERE id = :id"), dict(s=status, e=error, id=page_id))

    def pages(self, status: str | None = None) -> list[dict]:
        with self.engine.connect() as c:
            q = "SELECT p.*, (SELECT COUNT(*) FROM chars ch WHERE ch.page_id = p.id AND ch.deleted = 0) AS n_chars, " \
                "(SELECT COUNT(*) FROM corrections k WHERE k.page_id = p.id AND k.undone = 0) AS n_corrections FROM pages p"
            rows = c.execute(text(q + (" WHERE status = :s" if status else "") + " ORDER BY created, id"),
                             dict(s=status) if status else {})
            return [dict(r._mapping) for r in rows]

    def page_row(self, page_id: str) -> dict:
        with self.engine.connect() as c:
            r = c.execute(text("SELECT * FROM pages WHERE id = :id"), dict(id=page_id)).first()
        if r is None:
            raise NotFound(page_id)
        return dict(r._mapping)

    def delete_page(self, page_id: str) -> dict:
        row = self.page_row(page_id)
        with self.engine.begin() as c:
            for t in ("chars", "corrections"):
                c.execute(text(f"DELETE FROM {t} WHERE page_id = :id"), dict(id=page_id))
            c.execute(text("DELETE FROM pages WHERE id = :id"), dict(id=page_id))
        return row

    def save_result(self, page: Page) -> None:
        """The recognizer's reading of a page, as version 0 of each character (replacing an earlier reading)."""
        rows = []
        for col, column in enumerate(page.columns):
            for pos, k in enumerate(column.chars):
                ch = page.chars[k]
                rows.append(dict(p=page.image_id, cid=len(rows) + 1, code=ch.code, x=ch.box[0], y=ch.box[1],
                                 w=ch.box[2], h=ch.box[3], col=col, pos=float(pos), score=ch.score,
                                 det=ch.det_score, cand=json.dumps([[a.code, round(a.prob, 5)] for a in ch.candidates]),
                                 model=json.dumps([ch.code, *ch.box])))
        with self.engine.begin() as c:
            if c.execute(text("UPDATE pages SET status = 'done', error = '' WHERE id = :p"),
                         dict(p=page.image_id)).rowcount != 1:
                raise NotFound(page.image_id)  # deleted while it was read: nothing is stored
            c.execute(text("DELETE FROM chars WHERE page_id = :p"), dict(p=page.image_id))
            if rows:
                c.execute(text("INSERT INTO chars (page_id, cid, code, x, y, w, h, col, pos, score, det_score, candidates, model) "
                               "VALUES (:p, :cid, :code, :x, :y, :w, :h, :col, :pos, :score, :det, :cand, :model)"), rows)

    # characters -------------------------------------------------------------------------------------
    def _chars(self, c: Connection, page_id: str, deleted: bool = False) -> list[dict]:
        rows = c.execute(text("SELECT * FROM chars WHERE page_id = :p" + ("" if deleted else " AND deleted = 0")
                              + " ORDER BY col, pos, cid"), dict(p=page_id))
        return [{k: r._mapping[k] for k in CHAR_FIELDS} for r in rows]

    def page_dict(self, page_id: str) -> dict:
        """The page in the CLI's JSON layout (chars with box, code, char, score, candidates, column; columns;
        text), with the corrections applied; each char also carries its ``id`` and ``version``."""
        row = self.page_row(page_id)
        with self.engine.connect() as c:
            chars = self._chars(c, page_id)
        out, columns = [], {}
        for ch in chars:
            columns.setdefault(ch["col"], []).append(len(out))
            out.append(char_json(ch))
        cols = []
        for col in sorted(columns):
            idx = columns[col]
            for i in idx:  # as in the CLI's JSON: the index of its column in reading order
                out[i]["column"] = len(cols)
            xs = [out[i]["box"] for i in idx]
            x0, y0 = min(b[0] for b in xs), min(b[1] for b in xs)
            cols.append({"chars": idx, "box": [x0, y0, max(b[0] + b[2] for b in xs) - x0, max(b[1] + b[3] for b in xs) - y0]})
        text_ = "\n".join("".join(out[i]["char"] for i in col["chars"]) for col in cols)
        return {"image_id": page_id, "name": row["name"], "status": row["status"], "error": row["error"],
                "width": row["width"], "height": row["height"], "chars": out, "columns": cols, "text": text_,
                "source": row["name"], "canvas": ""}

    def _get(self, c: Connection, page_id: str, cid: int) -> dict:
        r = c.execute(text("SELECT * FROM chars WHERE page_id = :p AND cid = :c"), dict(p=page_id, c=cid)).first()
        if r is None:
            raise NotFound(f"{page_id}/{cid}")
        return {k: r._mapping[k] for k in CHAR_FIELDS}

    def _write(self, c: Connection, page_id: str, new: dict, version: int | None) -> dict:
        """Update one character if it is still at ``version`` (None: any), bumping its version."""
        vals = {k: new[k] for k in CHAR_FIELDS if k not in ("cid", "version")}
        sets = ", ".join(f"{k} = :{k}" for k in vals)
        cond = "" if version is None else " AND version = :v"
        r = c.execute(text(f"UPDATE chars SET {sets}, version = version + 1 WHERE page_id = :p AND cid = :cid{cond}"),
                      dict(vals, p=page_id, cid=new["cid"], v=version))
        if r.rowcount != 1:
            raise Conflict(self._get(c, page_id, new["cid"]))
        return self._get(c, page_id, new["cid"])

    def _log(self, c: Connection, page_id: str, user: str, action: str, before: list[dict], after: list[dict]) -> None:
        c.execute(text("INSERT INTO corrections (page_id, user_name, at, action, before, after) "
                       "VALUES (:p, :u, :t, :a, :b, :f)"),
                  dict(p=page_id, u=user or "anonymous", t=now(), a=action, b=json.dumps(before), f=json.dumps(after)))

    def edit_char(self, page_id: str, cid: int, version: int, user: str, code: str | None = None,
                  box: tuple[float, float, float, float] | None = None) -> dict:
        """Relabel and/or move/resize a character."""
        with self.engine.begin() as c:
            old = self._get(c, page_id, cid)
            if old["deleted"]:
                raise Conflict(old)
            new = dict(old)
            if code is not None:
                new["code"] = code
            if box is not None:
                new["x"], new["y"], new["w"], new["h"] = box
            after = self._write(c, page_id, new, version)
            self._log(c, page_id, user, "edit", [old], [after])
            return char_json(after)

    def add_char(self, page_id: str, user: str, code: str, box: tuple[float, float, float, float]) -> dict:
        """A new box, placed in the column its centre falls in (else a new column, right to left), by its height."""
        self.page_row(page_id)
        with self.engine.begin() as c:
            chars = self._chars(c, page_id)
            cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
            col = next((ch["col"] for ch in chars if ch["x"] <= cx <= ch["x"] + ch["w"]), None)
            if col is None:  # a new column after every column to its right
                col = len({ch["col"] for ch in chars if ch["x"] + ch["w"] / 2 > cx})
                c.execute(text("UPDATE chars SET col = col + 1 WHERE page_id = :p AND col >= :k"), dict(p=page_id, k=col))
            order = [ch["pos"] for ch in chars if ch["col"] == col]
            above = [ch["pos"] for ch in chars if ch["col"] == col and ch["y"] + ch["h"] / 2 < cy]
            i = len(above)
            pos = (0.0 if not order else order[0] - 1 if i == 0 else order[-1] + 1 if i == len(order)
                   else (order[i - 1] + order[i]) / 2)
            cid = (c.execute(text("SELECT MAX(cid) FROM chars WHERE page_id = :p"), dict(p=page_id)).scalar() or 0) + 1
            new = dict(cid=cid, code=code, x=box[0], y=box[1], w=box[2], h=box[3], col=col, pos=pos, score=1.0,
                       det_score=1.0, candidates=json.dumps([[code, 1.0]]), deleted=0, version=1, model="")
            c.execute(text("INSERT INTO chars (page_id, cid, code, x, y, w, h, col, pos, score, det_score, candidates, version) "
                           "VALUES (:p, :cid, :code, :x, :y, :w, :h, :col, :pos, :score, :det_score, :candidates, 1)"),
                      dict(new, p=page_id))
            self._log(c, page_id, user, "add", [dict(new, deleted=1)], [new])
            return char_json(new)

    def delete_char(self, page_id: str, cid: int, version: int, user: str) -> dict:
        with self.engine.begin() as c:
            old = self._get(c, page_id, cid)
            after = self._write(c, page_id, dict(old, deleted=1), version)
            self._log(c, page_id, user, "delete", [old], [after])
            return char_json(after)

    def reorder_column(self, page_id: str, cids: list[int], user: str, versions: list[int]) -> list[dict]:
        """Set the reading order of characters of one column: ``cids`` top to bottom, as the reader has it.
        ``versions`` are the versions the client saw: a character changed since (by another reorder too)
        is a :class:`Conflict` and nothing is written."""
        with self.engine.begin() as c:
            olds = [self._get(c, page_id, cid) for cid in cids]
            if len({o["col"] for o in olds}) != 1 or any(o["deleted"] for o in olds):
                raise ValueError("the characters must be live characters of one column")
            slots = sorted(o["pos"] for o in olds)  # the same positions, given out in the new order
            afters = [self._write(c, page_id, dict(o, pos=p), v) for o, p, v in zip(olds, slots, versions)]
            self._log(c, page_id, user, "reorder", olds, afters)
            return [char_json(a) for a in afters]

    def undo(self, page_id: str, user: str) -> dict | None:
        """Undo ``user``'s latest correction on the page still in effect; None when there is none.
        A character someone changed since is a :class:`Conflict` (nothing is undone)."""
        with self.engine.begin() as c:
            r = c.execute(text("SELECT * FROM corrections WHERE page_id = :p AND user_name = :u AND undone = 0 "
                               "ORDER BY id DESC LIMIT 1"), dict(p=page_id, u=user or "anonymous")).first()
            if r is None:
                return None
            before, after = json.loads(r._mapping["before"]), json.loads(r._mapping["after"])
            for b, a in zip(before, after):
                self._write(c, page_id, b, a["version"])
            c.execute(text("UPDATE corrections SET undone = 1 WHERE id = :id"), dict(id=r._mapping["id"]))
            return {"undone": r._mapping["action"], "chars": [b["cid"] for b in before]}

    def corrections(self, page_id: str | None = None) -> list[dict]:
        """The log: who, when, what (``before``/``after``: each character's reading and box), and if undone."""
        with self.engine.connect() as c:
            rows = c.execute(text("SELECT id, page_id, user_name, at, action, undone, before, after FROM corrections"
                                  + (" WHERE page_id = :p" if page_id else "") + " ORDER BY id"), dict(p=page_id))
            out = []
            for r in rows:
                d = dict(r._mapping)
                for k in ("before", "after"):
                    d[k] = [_summary(ch) for ch in json.loads(d[k])]
                out.append(d)
            return out

    # users (serve --auth) ---------------------------------------------------------------------------
    def add_user(self, name: str) -> str:
        """Add a user; returns their token (only its salted hash is stored). A name taken is a ValueError."""
        from .security import new_token

        token, salt, digest = new_token(name)
        with self.engine.begin() as c:
            if c.execute(text("SELECT 1 FROM users WHERE name = :n"), dict(n=name)).first():
                raise ValueError(f"user {name} exists (remove them first for a new token)")
            c.execute(text("INSERT INTO users (name, salt, digest, created) VALUES (:n, :s, :d, :t)"),
                      dict(n=name, s=salt, d=digest, t=now()))
        return token

    def remove_user(self, name: str) -> bool:
        with self.engine.begin() as c:
            return c.execute(text("DELETE FROM users WHERE name = :n"), dict(n=name)).rowcount == 1

    def users(self) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(text("SELECT name, created FROM users ORDER BY name"))]

    def user_secret(self, name: str) -> tuple[str, str] | None:
        """``(salt, digest)`` of a user's token, or None."""
        with self.engine.connect() as c:
            r = c.execute(text("SELECT salt, digest FROM users WHERE name = :n"), dict(n=name)).first()
        return (r[0], r[1]) if r else None


def _summary(ch: dict) -> dict:
    """A character as the log shows it: id, reading, box, deleted."""
    return {"id": ch["cid"], "code": ch["code"], "char": code_to_char(ch["code"]),
            "box": [ch["x"], ch["y"], ch["w"], ch["h"]], "deleted": bool(ch["deleted"])}


def char_json(ch: dict) -> dict:
    """A character row in the CLI's JSON layout (plus ``id``, ``version``, ``reviewed``: a person has acted on it,
    and ``corrected``: a person added it or changed its reading or box from the recognizer's)."""
    cands = [{"code": k, "char": code_to_char(k) if k.startswith("U+") else "〓", "prob": p}
             for k, p in json.loads(ch["candidates"])]
    x, y, w, h = ch["x"], ch["y"], ch["w"], ch["h"]
    return {"id": ch["cid"], "version": ch["version"], "box": [x, y, w, h], "center": [x + w / 2, y + h / 2],
            "code": ch["code"], "char": code_to_char(ch["code"]), "score": ch["score"], "det_score": ch["det_score"],
            "candidates": cands, "column": ch["col"], "deleted": bool(ch["deleted"]), "reviewed": ch["version"] > 0,
            "corrected": not ch["model"] or json.loads(ch["model"]) != [ch["code"], x, y, w, h]}
