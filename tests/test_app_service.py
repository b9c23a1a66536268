"""The labeling app's logic without HTTP: leases, idempotent undo, imports while serving, labelers and
their agreement (issue 13's findings, each with a regression test)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from semisup.app import Items, LabelApp, LabelError, LabelStore
from semisup.app.agreement import cohen_kappa, rater_pairs

CLASSES = ["cat", "dog"]


def make_app(tmp_path, n: int = 5, lease: float = 60.0) -> tuple[LabelApp, list[float]]:
    """An app over ``n`` table rows with a fake clock: ``clock[0]`` is the time in seconds."""
    ids = [str(i) for i in range(n)]
    feats = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    items = Items(ids, "table", CLASSES, feats, np.full(n, -1), "toy", inputs=feats, columns=["a", "b"])
    store = LabelStore(tmp_path / "l.sqlite", CLASSES, ids, data_name="toy", kind="table")
    app = LabelApp(items, store, user="owner", lease_seconds=lease)
    clock = [1000.0]
    app.clock = lambda: clock[0]
    return app, clock


def ids(items: list[dict]) -> list[str]:
    return [i["id"] for i in items]


def test_leases_keep_items_apart_expire_and_are_handed_back(tmp_path):
    app, clock = make_app(tmp_path, n=5, lease=60.0)
    a = ids(app.next_items("a", 3))
    b = ids(app.next_items("b", 10))
    assert len(a) == 3 and sorted(a + b) == [str(i) for i in range(5)]  # nobody gets another's item
    st = app.status("b")
    assert st["leased_elsewhere"] == 3 and st["retry_after"] == 60.0
    clock[0] += 45.0
    assert sorted(ids(app.next_items("b", 10))) == sorted(b) and app.status("b")["retry_after"] == 15.0
    assert app.release("b", [a[0], "nope", 7]) == {"released": 0}  # not b's leases: nothing handed back
    assert app.release("a", a[:1]) == {"released": 1}
    assert sorted(ids(app.next_items("b", 10))) == sorted(b + a[:1])  # handed back: b gets it at once
    assert app.status("b")["leased_elsewhere"] == 2
    clock[0] += 15.0  # a's other two leases expire
    assert sorted(ids(app.next_items("b", 10))) == sorted(b + a)
    assert app.status("b")["leased_elsewhere"] == 0 and app.status("a")["leased_elsewhere"] == 5
    app.skip("b", a[1])  # a skip hands the item back too
    assert app.status("a")["leased_elsewhere"] == 4
    app.label("b", b[0], "cat")  # a label ends the lease: the item is done
    assert app.status("a")["leased_elsewhere"] == 3 and app.status("a")["retry_after"] == 60.0
    app.store.close()


def test_a_retried_undo_changes_nothing_more(tmp_path):
    """Regression (issue 13, low): undo after a retried POST reported success but the item stayed labeled
    (the retry undid the session's previous, older label instead)."""
    app, _ = make_app(tmp_path)
    first = app.label("s", "0", "cat")["event"]
    second = app.label("s", "1", "dog")["event"]
    done = app.undo("s", event_id=second["id"])
    assert done["already"] is False and done["undone"]["id"] == second["id"] and done["item"]["id"] == "1"
    retry = app.undo("s", event_id=second["id"])
    assert retry["undone"] is None and retry["already"] is True and retry["reason"] == "already undone"
    assert {k: e.label for k, e in app.store.current().items()} == {"0": "cat"}  # first label kept
    assert (
        retry["progress"]["labeled"] == 1
        and app.item("0")["label"] == "cat"
        and app.item("1")["label"] is None
    )
    app.label("t", "0", "dog")  # another session relabels item 0: undoing s's label would change nothing
    late = app.undo("s", event_id=first["id"])
    assert late["already"] is True and "supersedes" in late["reason"] and app.item("0")["label"] == "dog"
    with pytest.raises(LabelError, match="event_id must be an integer"):
        app.undo("s", event_id="2")
    with pytest.raises(LabelError, match="no label or skip 3 of this session"):
        app.undo("s", event_id=3)  # t's event
    nothing = app.undo("u")  # a session that gave nothing
    assert nothing["undone"] is None and nothing["reason"] == "nothing of this session to undo"
    app.store.close()


def test_an_import_while_serving_is_seen_by_the_running_app(tmp_path):
    """Regression (issue 13, low): labels imported by another process were invisible to the server."""
    app, _ = make_app(tmp_path, n=5)
    app.label("s", "0", "cat")
    assert app.status()["labeled"] == 1
    other = LabelStore(app.store.path)  # `semisup label import` opens its own connection
    assert other.import_rows([{"item_id": "1", "label": "dog"}, {"item_id": "2", "label": "cat"}], "me") == 2
    other.close()
    st = app.status()
    assert st["labeled"] == 3 and st["remaining"] == 2
    assert sorted(ids(app.next_items("s", 10))) == ["3", "4"]
    assert app.item("1")["label"] == "dog"
    assert list(app.human_labels()) == [0, 1, 0, -1, -1]  # what the next refit trains on
    app.store.close()


def test_each_label_keeps_who_gave_it(tmp_path):
    app, _ = make_app(tmp_path)
    app.label("s", "0", "cat")  # the server before named users: no keyword
    app.label("s", "1", "dog", user="ann")
    app.skip("s", "2", user=" bob ")
    app.label("s", "3", "cat", user="")  # no name typed: the owner's
    assert [(e.item_id, e.user) for e in app.store.events()] == [
        ("0", "owner"),
        ("1", "ann"),
        ("2", "bob"),
        ("3", "owner"),
    ]
    assert [r["user"] for r in app.recent()] == ["owner", "ann", "owner"]
    for bad in ("x" * 65, "ann\nbob", 3):
        with pytest.raises(LabelError, match="user must be a name of at most 64 printable characters"):
            app.label("s", "4", "cat", user=bad)
    assert len(app.store.events()) == 4
    assert app.status()["named_by_token"] is False
    app.users_by_token = True  # what the HTTP layer sets with --users
    assert app.status()["named_by_token"] is True
    app.store.close()


# (first rater, second rater) per item: 4 x (cat, cat), 1 x (cat, dog), 2 x (dog, cat), 3 x (dog, dog)
PAIRS = [("cat", "cat")] * 4 + [("cat", "dog")] + [("dog", "cat")] * 2 + [("dog", "dog")] * 3


def test_agreement_is_cohens_kappa_of_the_first_two_labelers(tmp_path):
    # by hand: p_o = 7/10; first rater 5 cat 5 dog, second 6 cat 4 dog: p_e = (5*6 + 5*4)/100 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    app, _ = make_app(tmp_path, n=12)
    assert app.status()["agreement"] == {"items": 0, "kappa": None}
    for k, (x, y) in enumerate(PAIRS):
        app.label("a", str(k), x, user="ann")
        app.label("b", str(k), y, user="bob")
    app.label("a", "10", "cat", user="ann")  # one labeler only: not a pair
    assert app.status()["agreement"] == {"items": 10, "kappa": 0.4}
    for k in range(10):  # a third labeler is not among the first two: kappa stays
        app.label("c", str(k), "dog", user="cy")
    app.label("a", "0", "dog", user="ann")  # ann changes her mind on item 0: (dog, cat) now
    # p_o = 6/10; first rater 4 cat 6 dog: p_e = (4*6 + 6*4)/100 = 0.48; kappa = 0.12 / 0.52
    assert app.status()["agreement"] == {"items": 10, "kappa": round(0.12 / 0.52, 4)}
    app.store.close()


def test_kappa_matches_scikit_learn_and_is_none_when_undefined():
    from sklearn.metrics import cohen_kappa_score

    assert cohen_kappa([p[0] for p in PAIRS], [p[1] for p in PAIRS]) == pytest.approx(0.4)
    rng = random.Random(0)
    for _ in range(20):
        n = rng.randint(1, 30)
        a = [rng.choice("xyz") for _ in range(n)]
        b = [x if rng.random() < 0.6 else rng.choice("xyz") for x in a]
        ref = cohen_kappa_score(a, b) if len(set(a) | set(b)) > 1 else None
        got = cohen_kappa(a, b)
        assert got == pytest.approx(ref) if ref is not None else got is None
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["x", "x"], ["x", "x"]) is None  # p_e = 1: chance explains everything
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="one pair per item"):
        cohen_kappa(["x"], [])


def test_rater_pairs_take_the_first_two_distinct_users(tmp_path):
    app, _ = make_app(tmp_path)
    app.label("a", "0", "cat", user="ann")
    app.label("a", "0", "dog", user="ann")  # ann's latest counts, and she stays the first rater
    app.label("b", "0", "cat", user="bob")
    app.label("c", "0", "dog", user="cy")
    app.label("b", "1", "cat", user="bob")
    assert rater_pairs(app.store.user_labels()) == [("0", "dog", "cat")]
    app.store.close()


def test_the_item_on_screen_keeps_its_lease_while_the_page_polls(tmp_path):
    """Regression: a labeler looking at one item for longer than the lease lost it to another session.
    The page's status poll names the item on screen; only that session's live lease on it is renewed."""
    app, clock = make_app(tmp_path, n=3, lease=60.0)
    a = ids(app.next_items("a", 1))
    for _ in range(5):  # 5 minutes on the same item, polled every 50 s
        clock[0] += 50.0
        app.status("a", shown=a[0])
    assert a[0] not in ids(app.next_items("b", 10))  # still a's
    app.status("b", shown=a[0])  # another session cannot renew a's lease
    clock[0] += 61.0  # a stopped polling (closed the laptop): the lease runs out and is handed on
    assert a[0] in ids(app.next_items("b", 10))
    app.store.close()
