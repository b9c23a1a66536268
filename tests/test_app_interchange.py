"""Export and import labels: CSV and Label Studio JSON, through the API and the CLI."""

from __future__ import annotations

import csv
import io
import json

import pytest

from semisup.app import LabelError, LabelStore, export_labels, import_labels
from semisup.app.interchange import read_labelstudio
from semisup.cli import main

IDS = ["zero/a.png", "unlabeled/b.png", "unlabeled/c.png", "unlabeled/d.png"]
CLASSES = ["cat", "dog"]


def filled(path) -> LabelStore:
    s = LabelStore(path, CLASSES, IDS, data_name="pets", kind="image")
    s.add(IDS[0], "label", "cat", user="ann", session="a", created_at=1_700_000_000.25)
    s.add(IDS[1], "label", "cat", user="ann", session="a", created_at=1_700_000_001.5)
    s.add(IDS[1], "label", "dog", user="bob", session="b", created_at=1_700_000_002.0)  # relabeled
    s.add(IDS[2], "label", "dog", user="ann", session="a", created_at=1_700_000_003.0)
    s.undo("a")  # IDS[2] is unlabeled again
    s.add(IDS[3], "skip", user="ann", session="a")
    return s


def test_label_studio_round_trip_keeps_every_labeler(tmp_path):
    src = filled(tmp_path / "a.sqlite")
    text = export_labels(src, "labelstudio")
    tasks = json.loads(text)
    assert [[a["completed_by"] for a in t["annotations"]] for t in tasks] == [["ann"], ["ann", "bob"]]
    out = tmp_path / "labels.json"
    out.write_text(text)
    dst = LabelStore(tmp_path / "b.sqlite", CLASSES, IDS, kind="image")
    assert import_labels(dst, out) == 3  # ann's and bob's opinions of IDS[1]: bob's (the later) is current
    assert export_labels(dst, "labelstudio") == text
    assert [(e.item_id, e.label, e.user, e.session, e.created_at) for e in dst.current().values()] == [
        (IDS[0], "cat", "ann", "a", 1_700_000_000.25),
        (IDS[1], "dog", "bob", "b", 1_700_000_002.0),
    ]
    assert [(e.item_id, e.user, e.label) for e in dst.user_labels()] == [
        (e.item_id, e.user, e.label) for e in src.user_labels()
    ]


def test_csv_round_trip_keeps_the_current_labels(tmp_path):
    src = filled(tmp_path / "a.sqlite")
    text = export_labels(src, "csv")
    out = tmp_path / "labels.csv"
    out.write_text(text)
    dst = LabelStore(tmp_path / "b.sqlite", CLASSES, IDS, kind="image")
    assert import_labels(dst, out) == 2
    # one row per item: bob's label of IDS[1] comes back, ann's other opinion (labelers 2) does not
    assert export_labels(dst, "csv") == text.replace(",2,1\n", ",1,1\n")
    assert [(e.item_id, e.label, e.user, e.session, e.created_at) for e in dst.current().values()] == [
        (IDS[0], "cat", "ann", "a", 1_700_000_000.25),
        (IDS[1], "dog", "bob", "b", 1_700_000_002.0),
    ]


def test_formats_are_what_other_tools_read(tmp_path):
    s = filled(tmp_path / "a.sqlite")
    assert export_labels(s, "csv").splitlines() == [
        "item_id,label,user,session,created_at,labelers,agree",
        "zero/a.png,cat,ann,a,2023-11-14T22:13:20.250000Z,1,1",
        "unlabeled/b.png,dog,bob,b,2023-11-14T22:13:22.000000Z,2,1",  # ann said cat: 1 of 2 agree
    ]
    tasks = json.loads(export_labels(s, "labelstudio"))
    assert [t["data"] for t in tasks] == [{"item_id": i, "image": i} for i in IDS[:2]]
    results = [a["result"][0] for t in tasks for a in t["annotations"]]
    assert [r["value"]["choices"] for r in results] == [["cat"], ["cat"], ["dog"]]
    assert {(r["type"], r["from_name"], r["to_name"]) for r in results} == {("choices", "label", "image")}


FORMULAS = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1:A2)"]


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped_and_come_back(tmp_path):
    """Regression (issue 13, low): export wrote ``=cmd|...`` cells as they were (formula injection)."""
    classes = [*FORMULAS, "'quoted", "plain"]
    s = LabelStore(tmp_path / "a.sqlite", classes, IDS)
    for item, label in zip(IDS, classes, strict=False):
        s.add(item, "label", label, user='=HYPERLINK("http://x")', session="\tx")
    text = export_labels(s, "csv")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert [r[1] for r in rows] == ["'=cmd|' /C calc'!A0", "'+1", "'-1", "'@SUM(A1:A2)"]
    assert {r[2] for r in rows} == {'\'=HYPERLINK("http://x")'} and {r[3] for r in rows} == {"'\tx"}
    assert all(not c.startswith(("=", "+", "-", "@", "\t")) for r in rows for c in r)
    s.add(IDS[0], "label", "'quoted", user="ann")  # a value that starts with the escape itself
    s.add(IDS[1], "label", "plain", user="ann")
    rows = list(csv.reader(io.StringIO(export_labels(s, "csv"))))[1:]
    assert [r[1] for r in rows] == ["'-1", "'@SUM(A1:A2)", "''quoted", "plain"]
    out = tmp_path / "x.csv"
    out.write_text(export_labels(s, "csv"))
    dst = LabelStore(tmp_path / "b.sqlite", classes, IDS)
    assert import_labels(dst, out) == 4
    assert {k: e.label for k, e in dst.current().items()} == {k: e.label for k, e in s.current().items()}
    assert {e.user for e in dst.events()} == {'=HYPERLINK("http://x")', "ann"}
    assert {e.session for e in dst.events()} == {"\tx", "import"}  # ann's had none: "import"


def test_reads_a_label_studio_export(tmp_path):
    tasks = [  # as Label Studio writes them: images by URL, cancelled and missing annotations
        {"id": 7, "data": {"image": "/data/local-files/?d=pets/unlabeled/b.png"}, "annotations": [
            {"completed_by": 1, "created_at": "2024-01-02T03:04:05.000000Z",
             "result": [{"type": "choices", "from_name": "label", "to_name": "image",
                         "value": {"choices": ["dog"]}}]},
            {"was_cancelled": True, "result": []}]},
        {"id": 8, "data": {"item_id": "unlabeled/c.png"}, "annotations": []},
        {"id": 9, "data": {"item_id": "zero/a.png"}, "annotations": [
            {"completed_by": {"email": "x@y.z"}, "result": [{"type": "choices", "from_name": "label",
                                                             "value": {"choices": ["cat"]}}]}]},
    ]  # fmt: skip
    rows = read_labelstudio(tasks, IDS)
    assert [(r["item_id"], r["label"], r["user"]) for r in rows] == [
        ("unlabeled/b.png", "dog", "1"),
        ("zero/a.png", "cat", "x@y.z"),
    ]
    assert rows[0]["created_at"] == pytest.approx(1704164645.0)
    with pytest.raises(LabelError, match="task 1: no data.item_id"):
        read_labelstudio([{"data": {"image": "elsewhere.png"}, "annotations": []}], IDS)
    with pytest.raises(LabelError, match="one choice"):
        read_labelstudio([{"data": {"item_id": "a"}, "annotations": [{"result": [
            {"type": "choices", "value": {"choices": ["cat", "dog"]}}]}]}])  # fmt: skip


def test_bad_import_adds_nothing(tmp_path):
    s = LabelStore(tmp_path / "a.sqlite", CLASSES, IDS)
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,label\nzero/a.png,cat\nunlabeled/b.png,horse\n")
    with pytest.raises(LabelError, match="record 2: unknown class 'horse'"):
        import_labels(s, bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("id,class\n1,cat\n")
    with pytest.raises(LabelError, match="needs columns item_id and label"):
        import_labels(s, missing)
    assert s.events() == []


def test_cli_export_then_import(tmp_path, capsys):
    filled(tmp_path / "a.sqlite").close()
    for fmt, ext, n in (("csv", "csv", 2), ("labelstudio", "json", 3)):
        out = tmp_path / f"x.{ext}"
        assert (
            main(["label", "export", "--db", str(tmp_path / "a.sqlite"), "--format", fmt, "--out", str(out)])
            == 0
        )
        db = tmp_path / f"new-{fmt}.sqlite"
        assert main(["label", "import", str(out), "--db", str(db), "--classes", "cat,dog"]) == 0
        assert f"imported {n} labels into {db}" in capsys.readouterr().out
        assert {k: e.label for k, e in LabelStore(db).current().items()} == {IDS[0]: "cat", IDS[1]: "dog"}
    assert main(["label", "import", str(out), "--db", str(tmp_path / "c.sqlite")]) == 2
    assert "does not know its classes yet: pass --classes" in capsys.readouterr().err
    assert main(["label", "export", "--db", str(tmp_path / "nope.sqlite")]) == 2


def test_cli_export_reports_agreement_between_labelers(tmp_path, capsys):
    """One item labeled by two people (ann: cat, bob: dog): observed agreement 0, chance agreement
    P(ann cat)·P(bob cat) + P(ann dog)·P(bob dog) = 1·0 + 0·1 = 0, so kappa = (0 - 0) / (1 - 0) = 0."""
    filled(tmp_path / "a.sqlite").close()
    assert (
        main(["label", "export", "--db", str(tmp_path / "a.sqlite"), "--out", str(tmp_path / "x.csv")]) == 0
    )
    err = capsys.readouterr().err
    assert "agreement: Cohen's kappa 0.000 over 1 items labeled by two people" in err
    assert "kappa" not in (tmp_path / "x.csv").read_text()  # the file stays plain CSV
