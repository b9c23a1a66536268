"""Labels on disk: one SQLite file (WAL), every label written in its own transaction when it is given.

Schema (``SCHEMA_VERSION`` 1):

- ``meta(key, value)``: ``classes`` (JSON list), ``data`` (the data set's name), ``kind``.
- ``items(item_id, position)``: the data set's item ids, in data order.
- ``labels(id, item_id, action, label, suggested, confidence, model_version, user, session,
  created_at, undone_at)``: one row per action, append-only. ``action`` is ``"label"`` or ``"skip"``;
  undo never deletes: it sets ``undone_at`` (a tombstone) on the session's latest live row, or on the
  one event it names (``undo_event``: idempotent, so a retried request never undoes a second one).
- ``current_labels``: a view, the latest live ``label`` row of each item. ``user_labels()`` keeps each
  user's latest live label of each item (several labelers' opinions of one item, for agreement).

The file is opened with ``journal_mode=WAL`` and ``synchronous=FULL``: a write returns only after its
transaction is in the WAL, so killing the server (even ``kill -9``) loses no label it acknowledged.
One connection is shared by the server's threads behind a lock; other processes may open the same file
(SQLite's own locking, ``busy_timeout`` 10 s), and ``data_version()`` tells when one of them wrote.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LabelError", "LabelEvent", "LabelStore", "UnknownItemError"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (item_id TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('label', 'skip')),
    label TEXT,
    suggested TEXT,
    confidence REAL,
    model_version INTEGER,
    user TEXT NOT NULL,
    session TEXT NOT NULL,
    created_at REAL NOT NULL,
    undone_at REAL,
    CHECK ((action = 'label') = (label IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS labels_item ON labels (item_id, id);
CREATE INDEX IF NOT EXISTS labels_session ON labels (session, id);
CREATE VIEW IF NOT EXISTS current_labels AS
    SELECT l.* FROM labels l
    WHERE l.action = 'label' AND l.undone_at IS NULL AND l.id = (
        SELECT max(m.id) FROM labels m
        WHERE m.item_id = l.item_id AND m.action = 'label' AND m.undone_at IS NULL
    );
"""


class LabelError(ValueError):
    """A label or request the store refuses (unknown class, wrong classes for this file...)."""


class UnknownItemError(LabelError):
    """An item id that is not in the data set."""


@dataclass(frozen=True)
class LabelEvent:
    """One row of ``labels``."""

    id: int
    item_id: str
    action: str
    label: str | None
    suggested: str | None
    confidence: float | None
    model_version: int | None
    user: str
    session: str
    created_at: float
    undone_at: float | None = None

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


_COLUMNS = ", ".join(LabelEvent.__dataclass_fields__)


class LabelStore:
    """The label database at ``path`` (created if missing).

    Args:
        path: the SQLite file.
        classes: the class names; recorded on first use, and must match the file's afterwards.
        item_ids: the data set's item ids, recorded (replacing the previous list: files may come and go).
            Labels then must name one of them.
        data_name, kind: recorded in ``meta`` for exports.

    Raises:
        LabelError: the file was made for other classes, or holds labels of items not in ``item_ids``.
    """

    def __init__(
        self,
        path: str | Path,
        classes: Sequence[str] | None = None,
        item_ids: Sequence[str] | None = None,
        data_name: str | None = None,
        kind: str | None = None,
    ) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._lock:
            self._db.executescript(_SCHEMA)
        self._init_meta(classes, item_ids, data_name, kind)
        self.classes: list[str] = json.loads(self._meta("classes") or "[]")
        self._known = set(self.item_ids())

    # --- setup -------------------------------------------------------------------------------------
    def _tx(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def meta(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def item_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT item_id FROM items ORDER BY position")]

    def _init_meta(self, classes, item_ids, data_name, kind) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            stored = db.execute("SELECT value FROM meta WHERE key = 'classes'").fetchone()
            if classes is not None:
                classes = [str(c) for c in classes]
                if len(set(classes)) != len(classes) or not all(c.strip() for c in classes):
                    raise LabelError(f"class names must be distinct and non-empty, got {classes}")
                if stored is None:
                    db.execute("INSERT INTO meta VALUES ('classes', ?)", (json.dumps(classes),))
                elif json.loads(stored[0]) != classes:
                    raise LabelError(
                        f"{self.path} was made for classes {json.loads(stored[0])}, not {classes}; "
                        "use another --db file, or pass the same --classes"
                    )
            for key, value in (("data", data_name), ("kind", kind)):
                if value is not None:
                    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            if item_ids is None:
                return
            item_ids = [str(i) for i in item_ids]
            labeled = {r[0] for r in db.execute("SELECT DISTINCT item_id FROM labels")}
            foreign = sorted(labeled - set(item_ids))
            if foreign:
                raise LabelError(
                    f"{self.path} holds labels of {len(foreign)} item(s) that are not in this data set (e.g. "
                    f"{foreign[:3]}): it was made for other data; use another --db file"
                )
            # the registry follows the data (files may be added or removed); labels are never dropped
            db.execute("DELETE FROM items")
            db.executemany("INSERT INTO items VALUES (?, ?)", [(i, k) for k, i in enumerate(item_ids)])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- checks ------------------------------------------------------------------------------------
    def check_label(self, label: object) -> str:
        """``label`` if it is one of the classes, else ``LabelError`` listing them."""
        if not isinstance(label, str) or label not in self.classes:
            raise LabelError(f"unknown class {label!r}: the classes are {self.classes}")
        return label

    def check_item(self, item_id: object) -> str:
        """``item_id`` if the data set has it (any id when the file knows no items), else an error."""
        if not isinstance(item_id, str) or (self._known and item_id not in self._known):
            raise UnknownItemError(f"unknown item id {item_id!r}: not in this data set")
        return item_id

    # --- writes --------------------------------------------------------------------------------------
    def add(
        self,
        item_id: str,
        action: str = "label",
        label: str | None = None,
        *,
        user: str = "",
        session: str = "",
        suggested: str | None = None,
        confidence: float | None = None,
        model_version: int | None = None,
        created_at: float | None = None,
    ) -> LabelEvent:
        """Record one label (``action="label"``) or skip, committed before returning."""
        self.check_item(item_id)
        if action == "label":
            self.check_label(label)
        elif action == "skip":
            label = None
        else:
            raise LabelError(f"action must be 'label' or 'skip', got {action!r}")
        row = (item_id, action, label, suggested, confidence, model_version, user, session)
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO labels (item_id, action, label, suggested, confidence, model_version, user, "
                "session, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, time.time() if created_at is None else created_at),
            )
            return self._event(db, cur.lastrowid)

    def undo(self, session: str) -> LabelEvent | None:
        """Tombstone the latest live label or skip of ``session``; ``None`` when there is none."""
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM labels WHERE session = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                (session,),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE labels SET undone_at = ? WHERE id = ?", (time.time(), row[0]))
            return self._event(db, row[0])

    def undo_event(self, session: str, event_id: int) -> tuple[LabelEvent, str | None]:
        """Tombstone event ``event_id`` of ``session`` if it is still its item's latest live row.

        Returns (the event, None) when undone now, else (the event untouched, why not): a retried request
        finds its event already undone and changes nothing.

        Raises:
            LabelError: ``session`` has no event ``event_id``.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT undone_at FROM labels WHERE id = ? AND session = ?", (event_id, session)
            ).fetchone()
            if row is None:
                raise LabelError(f"no label or skip {event_id} of this session to undo")
            if row[0] is not None:
                return self._event(db, event_id), "already undone"
            later = db.execute(
                "SELECT 1 FROM labels WHERE item_id = (SELECT item_id FROM labels WHERE id = ?) "
                "AND id > ? AND undone_at IS NULL LIMIT 1",
                (event_id, event_id),
            ).fetchone()
            if later is not None:  # undoing it would not change the item: a later action decides it
                return self._event(db, event_id), "a later label or skip of this item supersedes it"
            db.execute("UPDATE labels SET undone_at = ? WHERE id = ?", (time.time(), event_id))
            return self._event(db, event_id), None

    def import_rows(self, rows: Iterable[dict], default_user: str, session: str = "import") -> int:
        """Add many labels in ONE transaction: all of them, or none when one is invalid.

        Each row needs ``item_id`` and ``label``; ``user``, ``session`` and ``created_at`` (unix seconds)
        are kept when given. Returns the number of labels added.
        """
        values = []
        for n, r in enumerate(rows, start=1):
            try:
                item, label = self.check_item(r.get("item_id")), self.check_label(r.get("label"))
            except LabelError as e:
                raise LabelError(f"record {n}: {e}") from None
            when = r.get("created_at")
            values.append(
                (item, label, r.get("user") or default_user, r.get("session") or session,
                 time.time() if when is None else float(when))
            )  # fmt: skip
        with self._tx() as db:
            db.executemany(
                "INSERT INTO labels (item_id, action, label, user, session, created_at) "
                "VALUES (?, 'label', ?, ?, ?, ?)",
                values,
            )
        return len(values)

    # --- reads ---------------------------------------------------------------------------------------
    def _event(self, db: sqlite3.Connection, event_id: int) -> LabelEvent:
        return LabelEvent(*db.execute(f"SELECT {_COLUMNS} FROM labels WHERE id = ?", (event_id,)).fetchone())

    def current(self) -> dict[str, LabelEvent]:
        """Item id -> its current label event (latest live ``label`` row), in labeling order."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM current_labels ORDER BY id").fetchall()
        return {r[1]: LabelEvent(*r) for r in rows}

    def latest(self, limit: int) -> list[LabelEvent]:
        """The ``limit`` most recent current labels, newest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM current_labels ORDER BY id DESC LIMIT ?", (max(0, int(limit)),)
            ).fetchall()
        return [LabelEvent(*r) for r in rows]

    def skipped(self) -> set[str]:
        """Items with a live skip and no current label."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT item_id FROM labels WHERE action = 'skip' AND undone_at IS NULL "
                "AND item_id NOT IN (SELECT item_id FROM current_labels)"
            ).fetchall()
        return {r[0] for r in rows}

    def item_state(self, item_id: str) -> tuple[str | None, bool]:
        """(current label or None, skipped?) of one item."""
        with self._lock:
            row = self._db.execute(
                "SELECT label FROM current_labels WHERE item_id = ?", (item_id,)
            ).fetchone()
            skip = self._db.execute(
                "SELECT 1 FROM labels WHERE item_id = ? AND action = 'skip' AND undone_at IS NULL",
                (item_id,),
            ).fetchone()
        return (row[0] if row else None), (row is None and skip is not None)

    def user_labels(self) -> list[LabelEvent]:
        """Each user's latest live label of each item, ordered by when the user first labeled the item
        (so a labeler who changes their mind stays the item's first or second rater)."""
        with self._lock:
            rows = self._db.execute(
                f"WITH live AS (SELECT {_COLUMNS}, max(id) OVER w AS last_id, min(id) OVER w AS first_id "
                "FROM labels WHERE action = 'label' AND undone_at IS NULL "
                "WINDOW w AS (PARTITION BY item_id, user)) "
                f"SELECT {_COLUMNS} FROM live WHERE id = last_id ORDER BY first_id"
            ).fetchall()
        return [LabelEvent(*r) for r in rows]

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes when ANOTHER connection commits (an import run while
        the server is up), never for this connection's own writes."""
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def events(self) -> list[LabelEvent]:
        """Every row, undone ones included, in order."""
        with self._lock:
            return [LabelEvent(*r) for r in self._db.execute(f"SELECT {_COLUMNS} FROM labels ORDER BY id")]

    def agreement(self) -> tuple[int, int]:
        """(labels equal to the model's suggestion, labels given with a suggestion), current labels only."""
        with self._lock:
            n, k = self._db.execute(
                "SELECT count(*), coalesce(sum(label = suggested), 0) FROM current_labels "
                "WHERE suggested IS NOT NULL"
            ).fetchone()
        return int(k), int(n)


class _Transaction:
    """``with`` block = ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error), under the lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
