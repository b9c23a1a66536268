"""The SQLite label store: transactions, tombstones, checks against classes and items."""

from __future__ import annotations

import sqlite3

import pytest

from semisup.app import LabelError, LabelStore, UnknownItemError

IDS = [str(i) for i in range(6)]


@pytest.fixture
def store(tmp_path):
    s = LabelStore(tmp_path / "l.sqlite", ["cat", "dog"], IDS, data_name="pets", kind="image")
    yield s
    s.close()


def test_file_is_wal_and_every_label_is_visible_to_another_connection_at_once(store):
    store.add("0", "label", "cat", user="u", session="a")
    other = sqlite3.connect(store.path)  # a second reader while the store stays open
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT item_id, label FROM current_labels").fetchall() == [("0", "cat")]
    other.close()
    assert store.meta() == {
        "schema_version": "1",
        "classes": '["cat", "dog"]',
        "data": "pets",
        "kind": "image",
    }


def test_relabel_skip_and_undo(store):
    store.add("0", "label", "cat", session="a")
    store.add("0", "label", "dog", session="b")  # a second opinion: the later label wins
    store.add("1", "skip", session="a")
    store.add("2", "label", "dog", session="a")
    assert {k: e.label for k, e in store.current().items()} == {"0": "dog", "2": "dog"}
    assert store.skipped() == {"1"} and store.item_state("1") == (None, True)
    assert store.undo("a").item_id == "2"  # a's latest action
    assert store.undo("a").action == "skip"
    assert store.undo("b").label == "dog"
    assert {k: e.label for k, e in store.current().items()} == {"0": "cat"}  # b's undo reveals a's label
    assert store.undo("a").item_id == "0" and store.undo("a") is None and store.current() == {}
    events = store.events()
    assert len(events) == 4 and all(e.undone_at is not None for e in events)  # tombstones, no deletes


def test_invalid_labels_and_items_are_refused_and_write_nothing(store):
    with pytest.raises(LabelError, match=r"unknown class 'bird': the classes are \['cat', 'dog'\]"):
        store.add("0", "label", "bird")
    with pytest.raises(UnknownItemError, match="unknown item id '9'"):
        store.add("9", "label", "cat")
    with pytest.raises(LabelError, match="action must be"):
        store.add("0", "delete")
    assert store.events() == []


def test_import_is_all_or_nothing(store):
    good = [{"item_id": "0", "label": "cat"}, {"item_id": "1", "label": "dog", "user": "ann"}]
    with pytest.raises(LabelError, match="record 3: unknown class 'cow'"):
        store.import_rows([*good, {"item_id": "2", "label": "cow"}], default_user="me")
    assert store.events() == []
    assert store.import_rows(good, default_user="me") == 2
    assert [(e.item_id, e.label, e.user, e.session) for e in store.events()] == [
        ("0", "cat", "me", "import"),
        ("1", "dog", "ann", "import"),
    ]


def test_reopening_checks_classes_and_items(store, tmp_path):
    store.add("3", "label", "dog")
    path = store.path
    store.close()
    again = LabelStore(path, ["cat", "dog"], IDS)
    assert again.current()["3"].label == "dog"
    again.close()
    with pytest.raises(LabelError, match=r"made for classes \['cat', 'dog'\], not \['dog', 'cat'\]"):
        LabelStore(path, ["dog", "cat"], IDS)
    with pytest.raises(LabelError, match="labels of 1 item\\(s\\) that are not in this data set"):
        LabelStore(path, ["cat", "dog"], ["a", "b"])
    grown = LabelStore(path, ["cat", "dog"], ["3", "new"])  # files added and removed: fine, labels kept
    assert grown.item_ids() == ["3", "new"] and grown.current()["3"].label == "dog"
    grown.close()
    with pytest.raises(LabelError, match="distinct and non-empty"):
        LabelStore(tmp_path / "x.sqlite", ["cat", "cat"])


def test_agreement_counts_current_labels_with_a_suggestion(store):
    store.add("0", "label", "cat", suggested="cat", session="a")
    store.add("1", "label", "dog", suggested="cat", session="a")
    store.add("2", "label", "dog", session="a")  # no model yet: not counted
    store.add("3", "label", "dog", suggested="dog", session="a")
    assert store.agreement() == (2, 3)
    store.undo("a")
    assert store.agreement() == (1, 2)


def test_undo_of_a_named_event_is_idempotent(store):
    first = store.add("0", "label", "cat", session="a")
    second = store.add("1", "label", "dog", session="a")
    event, why = store.undo_event("a", second.id)
    assert why is None and event.id == second.id and event.undone_at is not None
    again, why = store.undo_event("a", second.id)  # the retried request: nothing more is undone
    assert why == "already undone" and again.undone_at == event.undone_at
    assert {k: e.label for k, e in store.current().items()} == {"0": "cat"}
    assert store.events()[0].undone_at is None  # the older event was not touched
    store.add("0", "label", "dog", session="b")
    kept, why = store.undo_event("a", first.id)  # b's later label decides item 0: undoing a's is a no-op
    assert why == "a later label or skip of this item supersedes it" and kept.undone_at is None
    with pytest.raises(LabelError, match="no label or skip 3 of this session to undo"):
        store.undo_event("a", 3)  # b's event
    with pytest.raises(LabelError, match="no label or skip 99 of this session"):
        store.undo_event("a", 99)


def test_user_labels_keep_each_labelers_latest_live_label(store):
    store.add("0", "label", "cat", user="ann", session="a")
    store.add("0", "label", "dog", user="ann", session="a")  # ann changed her mind
    store.add("0", "label", "cat", user="bob", session="b")
    store.add("1", "label", "dog", user="bob", session="b")
    store.undo("b")  # bob's label of 1 is gone
    assert [(e.item_id, e.user, e.label) for e in store.user_labels()] == [
        ("0", "ann", "dog"),
        ("0", "bob", "cat"),
    ]


def test_data_version_moves_only_when_another_connection_writes(store):
    v0 = store.data_version()
    store.add("0", "label", "cat")
    assert store.data_version() == v0  # its own write
    other = LabelStore(store.path)
    other.import_rows([{"item_id": "1", "label": "dog"}], default_user="me")
    other.close()
    assert store.data_version() != v0
