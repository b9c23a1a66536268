"""The labeling app's logic, independent of HTTP: queue, label, skip, undo, progress.

``LabelApp`` ties the items, the ``LabelStore`` and the ``Suggester`` together. It mirrors the current
labels and skips in memory (updated after each committed write, and reloaded when another process wrote
to the file, e.g. ``semisup label import`` while the server runs) so the queue is cheap to compute.

Items handed to one session are leased to it for ``lease_seconds``: a second labeler gets other items,
so two people working at once do not label the same item twice (if they do, the later label wins; both
rows stay in the file, and agreement counts them). A lease ends when the item is labeled or skipped,
when the session hands it back (``release``: the page does when it drops items or closes), or when it
expires; ``status`` says how many items other sessions hold and when the first comes free, so a page
with an empty queue waits for them instead of declaring the work done.

Every label and skip records who gave it (``user``, else the server owner's name); ``status`` reports
agreement between labelers (Cohen's kappa, see ``semisup.app.agreement``).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from semisup.app.agreement import cohen_kappa, rater_pairs
from semisup.app.items import Items
from semisup.app.model import Suggester, queue_order
from semisup.app.store import LabelError, LabelStore, UnknownItemError

__all__ = ["LabelApp", "shortcut_keys"]

MAX_BATCH = 100
MAX_USER = 64  # characters of a labeler's name


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
    user: recorded with labels whose request names nobody. strategy: the queue's informativeness score.
    seed: the random order. lease_seconds: how long an item handed to one session is kept from others.

    The HTTP layer sets ``users_by_token = True`` when each labeler has their own token (the page then
    does not ask for a name). ``clock`` (monotonic seconds) is replaceable for tests.
    """

    users_by_token = False

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
        self.clock = time.monotonic
        self._data_version = store.data_version()
        self._changes = 0  # bumped on every change of labels or skips: the agreement cache's key
        self._agreement: tuple[int, dict] | None = None

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
        self._sync()
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

    def status(self, session: str = "", shown: str | None = None) -> dict:
        """Progress, model, agreement between labelers, and the items other sessions hold. ``shown``: the
        item on ``session``'s screen; a lease it still holds on it is renewed (looking is not abandoning)."""
        self._sync()
        if shown is not None:
            with self._lock:
                holder = self._leases.get(shown)
                if holder is not None and holder[0] == session and holder[1] > self.clock():
                    self._leases[shown] = (session, self.clock() + self.lease_seconds)
        st = self.suggester.state
        agree, n = self.store.agreement()
        elsewhere, retry_after = self._leased_elsewhere(session)
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
            "agreement": self._rater_agreement(),
            "leased_elsewhere": elsewhere,
            "retry_after": retry_after,
            "named_by_token": bool(getattr(self, "users_by_token", False)),
            "session": session,
        }

    def _rater_agreement(self) -> dict:
        """``{"items": items labeled by >= 2 users, "kappa": Cohen's kappa over them or None}``."""
        with self._lock:
            changes, cached = self._changes, self._agreement
        if cached is not None and cached[0] == changes:
            return cached[1]
        pairs = rater_pairs(self.store.user_labels())
        kappa = cohen_kappa([p[1] for p in pairs], [p[2] for p in pairs])
        out = {"items": len(pairs), "kappa": None if kappa is None else round(kappa, 4)}
        with self._lock:
            self._agreement = (changes, out)
        return out

    def _leased_elsewhere(self, session: str) -> tuple[int, float | None]:
        """(unlabeled items leased to other sessions, seconds until the first of them comes free)."""
        now = self.clock()
        with self._lock:
            for item_id in [i for i, (_, until) in self._leases.items() if until <= now]:
                del self._leases[item_id]  # expired: free for anyone
            ends = [until for i, (s, until) in self._leases.items() if s != session and i not in self._labels]
        return len(ends), (round(max(0.0, min(ends) - now), 3) if ends else None)

    # --- queue ---------------------------------------------------------------------------------------
    def _ranked(self) -> np.ndarray:
        st = self.suggester.state
        if self._order is None or self._order[0] != st.version:
            labeled = (self.human_labels() >= 0) | (self.items.seed_labels >= 0)
            order = queue_order(
                st.proba, len(self.items), self.strategy, self.seed, self.items.features, labeled,
                mc_proba=st.mc_proba,
            )  # fmt: skip
            self._order = (st.version, order)
        return self._order[1]

    def next_items(self, session: str, n: int = 10) -> list[dict]:
        """Up to ``n`` items for ``session``, most worth labeling first; skipped items come last. Items
        other sessions hold (unexpired leases) are left out; the ones returned are leased to ``session``."""
        self._sync()
        n = max(1, min(int(n), MAX_BATCH))
        order, now = self._ranked(), self.clock()
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
    def label(self, session: str, item_id: object, label: object, user: str | None = None) -> dict:
        """Record ``label`` for ``item_id`` (committed) by ``user`` (None: the server owner), with the
        model's current suggestion."""
        k = self.index_of(item_id)
        label = self.store.check_label(label)
        who = self._who(user)
        suggested, conf, version = self._suggestion(k)
        event = self.store.add(
            self.items.ids[k], "label", label, user=who, session=session,
            suggested=suggested, confidence=conf, model_version=version,
        )  # fmt: skip
        self._refresh(event.item_id)
        self.suggester.notify()
        return {"event": event.to_json(), "progress": self.status(session)}

    def skip(self, session: str, item_id: object, user: str | None = None) -> dict:
        """Skip ``item_id``: it goes to the end of this session's queue, and other sessions may take it."""
        k = self.index_of(item_id)
        event = self.store.add(self.items.ids[k], "skip", user=self._who(user), session=session)
        self._refresh(event.item_id)
        with self._lock:
            self._leases.pop(event.item_id, None)
        return {"event": event.to_json(), "progress": self.status(session)}

    def undo(self, session: str, event_id: int | None = None) -> dict:
        """Undo event ``event_id`` of ``session`` (or, without it, the session's latest label or skip).

        With ``event_id`` it is idempotent: an event already undone, or superseded by a later label or
        skip of its item, is left alone and the answer says ``"already": True`` and why, so a retried
        request never undoes a second, older event. Returns the event and the item to show again.
        """
        if event_id is None:
            event, why = self.store.undo(session), None
            if event is None:
                why = "nothing of this session to undo"
        else:
            if isinstance(event_id, bool) or not isinstance(event_id, int):
                raise LabelError(
                    f"event_id must be an integer (the 'id' of a label's event), got {event_id!r}"
                )
            event, why = self.store.undo_event(session, event_id)
        if why is not None:
            return {"undone": None, "already": True, "reason": why, "event": event and event.to_json(),
                    "item": None, "progress": self.status(session)}  # fmt: skip
        assert event is not None
        self._refresh(event.item_id)
        if event.action == "label":
            self.suggester.notify()
        with self._lock:
            self._leases[event.item_id] = (session, self.clock() + self.lease_seconds)
        return {"undone": event.to_json(), "already": False, "item": self.item(event.item_id),
                "progress": self.status(session)}  # fmt: skip

    def release(self, session: str, item_ids: list) -> dict:
        """Hand back ``session``'s leases of ``item_ids`` (others' leases and unknown ids are ignored)."""
        released = 0
        with self._lock:
            for item_id in item_ids:
                holder = self._leases.get(item_id) if isinstance(item_id, str) else None
                if holder is not None and holder[0] == session:
                    del self._leases[item_id]
                    released += 1
        return {"released": released}

    def _who(self, user: str | None) -> str:
        """The name a label is recorded under: ``user``, or the server owner's when none is given."""
        if user is None or user == "":
            return self.user
        if not isinstance(user, str) or len(user.strip()) > MAX_USER or not user.strip().isprintable():
            raise LabelError(f"user must be a name of at most {MAX_USER} printable characters, got {user!r}")
        return user.strip() or self.user

    def _refresh(self, item_id: str) -> None:
        with self._lock:  # read and mirror under one lock: a stale read never overwrites a newer one
            label, skipped = self.store.item_state(item_id)
            if label is None:
                self._labels.pop(item_id, None)
            else:
                self._labels[item_id] = label
                self._leases.pop(item_id, None)
            (self._skipped.add if skipped else self._skipped.discard)(item_id)
            self._changes += 1

    def _sync(self) -> None:
        """Reload the mirror when another connection wrote to the file (an import while serving)."""
        version = self.store.data_version()
        if version == self._data_version:
            return
        with self._lock:
            self._data_version = version
            before = dict(self._labels)
            self._labels = {k: e.label for k, e in self.store.current().items()}
            self._skipped = self.store.skipped()
            for item_id in self._labels:
                self._leases.pop(item_id, None)
            self._changes += 1
            changed = sum(before.get(i) != lab for i, lab in self._labels.items()) + len(
                before.keys() - self._labels.keys()
            )
        for _ in range(min(changed, self.suggester.every)):  # new labels count toward the next refit
            self.suggester.notify()

    def recent(self, limit: int = 20) -> list[dict]:
        """The latest ``limit`` current labels, newest first."""
        events = self.store.latest(min(int(limit), MAX_BATCH))
        return [
            {"id": e.item_id, "label": e.label, "user": e.user, "created_at": e.created_at} for e in events
        ]
