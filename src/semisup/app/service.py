"""The labeling app's logic, independent of HTTP: queue, label, skip, undo, progress.

``LabelApp`` ties the items, the ``LabelStore`` and the ``Suggester`` together. It mirrors the current
labels and skips in memory (updated after each committed write) so the queue is cheap to compute. Items
handed to one session are leased to it for ``lease_seconds``: a second labeler gets other items, so two
people working at once do not label the same item twice (if they do, the later label wins; both rows
stay in the file).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from semisup.app.items import Items
from semisup.app.model import Suggester, queue_order
from semisup.app.store import LabelStore, UnknownItemError

__all__ = ["LabelApp", "shortcut_keys"]

MAX_BATCH = 100


RESERVED_KEYS = ("s", "u", "?")  # skip, undo, help


def shortcut_keys(classes: list[str]) -> list[str | None]:
    """One key per class. Classes named by single distinct characters (digits "0".."9", "a", "b") are
    their own keys; otherwise ``1``-``9``, then letters other than ``s`` (skip) and ``u`` (undo); None
    for classes past the 33rd (click their buttons)."""
    low = [c.lower() for c in classes]
    single = all(len(c) == 1 and c.isalnum() for c in low) and len(set(low)) == len(low)
    if single and not set(low) & set(RESERVED_KEYS):
        return low
    keys = [str(i) for i in range(1, 10)] + [
        c for c in "abcdefghijklmnopqrstuvwxyz" if c not in RESERVED_KEYS
    ]
    return [keys[k] if k < len(keys) else None for k in range(len(classes))]


class LabelApp:
    """Args:
    items: the data set's items. store: its label file. suggester: the model (started by ``start``).
    user: recorded with every label. strategy: the queue's informativeness score. seed: the random order.
    """

    def __init__(
        self,
        items: Items,
        store: LabelStore,
        suggester: Suggester | None = None,
        user: str = "",
        strategy: str = "margin",
        seed: int = 0,
        lease_seconds: float = 120.0,
    ) -> None:
        self.items, self.store, self.user, self.strategy, self.seed = items, store, user, strategy, seed
        self.lease_seconds = lease_seconds
        self.suggester = suggester or Suggester(items, self.human_labels, retrain=False)
        self._lock = threading.Lock()
        self._labels = {k: e.label for k, e in store.current().items()}
        self._skipped = store.skipped()
        self._leases: dict[str, tuple[str, float]] = {}
        self._order: tuple[int, np.ndarray] | None = None

    def start(self) -> None:
        self.suggester.start()

    def stop(self) -> None:
        self.suggester.stop()

    # --- state ---------------------------------------------------------------------------------------
    def human_labels(self) -> np.ndarray:
        """(N,) class ids of the current human labels, -1 elsewhere."""
        y = np.full(len(self.items), -1, dtype=np.int64)
        with self._lock:
            pairs = list(self._labels.items())
        cls = {c: k for k, c in enumerate(self.items.classes)}
        for item_id, label in pairs:
            y[self.items.index(item_id)] = cls[label]
        return y

    def _suggestion(self, k: int) -> tuple[str | None, float | None, int | None]:
        st = self.suggester.state
        if st.proba is None:
            return None, None, None
        c = int(st.proba[k].argmax())
        return self.items.classes[c], float(st.proba[k, c]), st.version

    def item(self, item_id: str) -> dict:
        """The page's view of one item: display, suggestion, confidence, current label."""
        k = self.index_of(item_id)
        suggested, conf, _ = self._suggestion(k)
        with self._lock:
            label = self._labels.get(item_id)
        return {**self.items.payload(k), "suggestion": suggested, "confidence": conf, "label": label}

    def index_of(self, item_id: object) -> int:
        """Position of ``item_id``; ``UnknownItemError`` when the data set has no such item."""
        try:
            return self.items.index(item_id)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            raise UnknownItemError(f"unknown item id {item_id!r}: not in this data set") from None

    def status(self, session: str = "") -> dict:
        st = self.suggester.state
        agree, n = self.store.agreement()
        with self._lock:
            labeled, skipped = len(self._labels), len(self._skipped)
        seeded = int(((self.items.seed_labels >= 0) & (self.human_labels() < 0)).sum())
        return {
            "name": self.items.name,
            "kind": self.items.kind,
            "classes": self.items.classes,
            "keys": shortcut_keys(self.items.classes),
            "total": len(self.items),
            "labeled": labeled,
            "seeded": seeded,
            "skipped": skipped,
            "remaining": len(self.items) - labeled - seeded,
            "accuracy": {"estimate": agree / n if n else None, "agree": agree, "n": n},
            "model": {
                "version": st.version,
                "training": self.suggester.training,
                "labels": st.n_labels,
                "seconds": round(st.seconds, 3),
                "error": st.error,
                "retrain": self.suggester.retrain,
                "every": self.suggester.every,
            },
            "session": session,
        }

    # --- queue ---------------------------------------------------------------------------------------
    def _ranked(self) -> np.ndarray:
        st = self.suggester.state
        if self._order is None or self._order[0] != st.version:
            labeled = (self.human_labels() >= 0) | (self.items.seed_labels >= 0)
            order = queue_order(
                st.proba, len(self.items), self.strategy, self.seed, self.items.features, labeled
            )
            self._order = (st.version, order)
        return self._order[1]

    def next_items(self, session: str, n: int = 10) -> list[dict]:
        """Up to ``n`` items for ``session``, most worth labeling first; skipped items come last."""
        n = max(1, min(int(n), MAX_BATCH))
        order, now = self._ranked(), time.monotonic()
        seed = self.items.seed_labels
        picked: list[str] = []
        later: list[str] = []
        with self._lock:
            for k in order:
                item_id = self.items.ids[k]
                if item_id in self._labels or seed[k] >= 0:
                    continue
                holder = self._leases.get(item_id)
                if holder and holder[0] != session and holder[1] > now:
                    continue
                (later if item_id in self._skipped else picked).append(item_id)
                if len(picked) >= n:
                    break
            chosen = (picked + later)[:n]
            for item_id in chosen:
                self._leases[item_id] = (session, now + self.lease_seconds)
        return [self.item(i) for i in chosen]

    # --- writes --------------------------------------------------------------------------------------
    def label(self, session: str, item_id: object, label: object) -> dict:
        """Record ``label`` for ``item_id`` (committed), with the model's current suggestion."""
        k = self.index_of(item_id)
        label = self.store.check_label(label)
        suggested, conf, version = self._suggestion(k)
        event = self.store.add(
            self.items.ids[k], "label", label, user=self.user, session=session,
            suggested=suggested, confidence=conf, model_version=version,
        )  # fmt: skip
        self._refresh(event.item_id)
        self.suggester.notify()
        return {"event": event.to_json(), "progress": self.status(session)}

    def skip(self, session: str, item_id: object) -> dict:
        k = self.index_of(item_id)
        event = self.store.add(self.items.ids[k], "skip", user=self.user, session=session)
        self._refresh(event.item_id)
        return {"event": event.to_json(), "progress": self.status(session)}

    def undo(self, session: str) -> dict:
        """Undo ``session``'s latest label or skip; returns it and the item to show again."""
        event = self.store.undo(session)
        if event is None:
            return {"undone": None, "item": None, "progress": self.status(session)}
        self._refresh(event.item_id)
        if event.action == "label":
            self.suggester.notify()
        with self._lock:
            self._leases[event.item_id] = (session, time.monotonic() + self.lease_seconds)
        return {"undone": event.to_json(), "item": self.item(event.item_id), "progress": self.status(session)}

    def _refresh(self, item_id: str) -> None:
        with self._lock:  # read and mirror under one lock: a stale read never overwrites a newer one
            label, skipped = self.store.item_state(item_id)
            if label is None:
                self._labels.pop(item_id, None)
            else:
                self._labels[item_id] = label
                self._leases.pop(item_id, None)
            (self._skipped.add if skipped else self._skipped.discard)(item_id)

    def recent(self, limit: int = 20) -> list[dict]:
        """The latest ``limit`` current labels, newest first."""
        events = self.store.latest(min(int(limit), MAX_BATCH))
        return [
            {"id": e.item_id, "label": e.label, "user": e.user, "created_at": e.created_at} for e in events
        ]
