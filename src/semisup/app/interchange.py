"""Labels in and out: CSV and Label Studio JSON.

CSV: one row per current label, columns ``item_id,label,user,session,created_at,labelers,agree``
(``created_at`` in ISO 8601, UTC). ``labelers`` is how many distinct users labeled the item and ``agree``
how many of them gave this label (1,1 for an item one person labeled): a kappa summary line would break
every CSV reader, so agreement travels per item; ``semisup.app.agreement`` computes kappa. A cell that
starts with ``= + - @``, a tab, a carriage return or ``'`` gets a leading ``'`` so that spreadsheets show
it as text instead of running it as a formula; import strips that one ``'`` again. Import needs
``item_id`` and ``label``; ``user``, ``session`` and ``created_at`` are kept when present.

Label Studio (https://labelstud.io/guide/export#JSON): a list of tasks, each
``{"id", "data": {"item_id", ...}, "annotations": [{"result": [{"type": "choices", "from_name": "label",
"to_name": ..., "value": {"choices": [LABEL]}}], "completed_by", "created_at"}]}``, one annotation per
user who labeled the item (their latest label; the item's current label last), so agreement can be
computed from it and a round trip keeps every labeler. Import reads the item from ``data.item_id`` (or
an image path in ``data.image`` that ends with an item id) and every annotation that is not cancelled,
in order (the last one becomes the current label); tasks without an annotation are left out.

An import is one transaction: every label is checked against the classes and items of the label file
first, and one bad record adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

from semisup.app.agreement import item_agreement
from semisup.app.store import LabelError, LabelEvent, LabelStore

__all__ = [
    "escape_cell",
    "export_labels",
    "import_labels",
    "read_csv_labels",
    "read_labelstudio",
    "to_labelstudio",
    "unescape_cell",
]

CSV_COLUMNS = ("item_id", "label", "user", "session", "created_at", "labelers", "agree")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")  # OWASP's list, plus the escape character itself


def _iso(t: float) -> str:
    return (
        datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


def _unix(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def escape_cell(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula (or it starts with
    ``'``, so that ``unescape_cell`` is its exact inverse)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def unescape_cell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def to_csv(store: LabelStore) -> str:
    current = store.current()
    agree = item_agreement(store.user_labels(), {i: e.label for i, e in current.items()})  # type: ignore[misc]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in current.values():
        a = agree[e.item_id]
        cells = [e.item_id, e.label or "", e.user, e.session]
        w.writerow([*map(escape_cell, cells), _iso(e.created_at), a.labelers, a.agree])
    return buf.getvalue()


def to_labelstudio(store: LabelStore) -> list[dict]:
    """The current labels as Label Studio tasks, one annotation per user who labeled the item."""
    meta = store.meta()
    kind = meta.get("kind", "item")
    to_name = {"image": "image", "text": "text"}.get(kind, "item")
    current = store.current()
    opinions: dict[str, list[LabelEvent]] = {i: [] for i in current}
    for e in store.user_labels():
        if e.item_id in opinions and e.id != current[e.item_id].id:
            opinions[e.item_id].append(e)
    tasks, n_ann = [], 0
    for n, e in enumerate(current.values(), start=1):
        data: dict = {"item_id": e.item_id}
        if kind == "image" and "/" in e.item_id:  # image-folder items: the path below the data root
            data["image"] = e.item_id
        annotations = []
        for a in [*opinions[e.item_id], e]:  # the current label last: it wins again on import
            n_ann += 1
            result = {
                "id": f"r{n_ann}",
                "from_name": "label",
                "to_name": to_name,
                "type": "choices",
                "value": {"choices": [a.label]},
            }
            ann = {"id": n_ann, "completed_by": a.user, "created_at": _iso(a.created_at), "result": [result]}
            ann["meta"] = {"session": a.session}
            annotations.append(ann)
        tasks.append({"id": n, "data": data, "annotations": annotations})
    return tasks


def export_labels(store: LabelStore, fmt: str) -> str:
    """The current labels as text in ``fmt`` (``"csv"`` or ``"labelstudio"``)."""
    if fmt == "csv":
        return to_csv(store)
    if fmt == "labelstudio":
        return json.dumps(to_labelstudio(store), indent=2) + "\n"
    raise LabelError(f"format must be 'csv' or 'labelstudio', got {fmt!r}")


def read_csv_labels(text: str) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and not {"item_id", "label"} <= set(rows[0]):
        raise LabelError(f"a label CSV needs columns item_id and label; found {list(rows[0])}")
    out = []
    for r in rows:
        r = {k: unescape_cell(v) if isinstance(v, str) else v for k, v in r.items()}
        when = r.get("created_at")
        out.append({**r, "created_at": _unix(when) if when else None})
    return out


def read_labelstudio(tasks: object, item_ids: list[str] | None = None) -> list[dict]:
    """(item_id, label, user, created_at) records from Label Studio tasks; see the module docstring."""
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise LabelError("Label Studio JSON must be a list of tasks")
    out = []
    for n, task in enumerate(tasks, start=1):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise LabelError(f"task {n} has no 'data' object")
        item = _task_item(task["data"], item_ids)
        if item is None:
            raise LabelError(f"task {n}: no data.item_id (and no data.image naming an item)")
        live = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        for ann in live:  # in order: the last one becomes the item's current label
            choices = [r for r in ann.get("result") or [] if r.get("type") == "choices"]
            if not choices or len(choices[0].get("value", {}).get("choices") or []) != 1:
                raise LabelError(
                    f"task {n}: each annotation needs one result of type 'choices' with one choice"
                )
            by = ann.get("completed_by")
            user = by.get("email", "") if isinstance(by, dict) else str(by) if by is not None else None
            when = ann.get("created_at")
            out.append({
                "item_id": item, "label": choices[0]["value"]["choices"][0], "user": user,
                "session": (ann.get("meta") or {}).get("session"),
                "created_at": _unix(when) if when else None,
            })  # fmt: skip
    return out


def _task_item(data: dict, item_ids: list[str] | None) -> str | None:
    if "item_id" in data:
        return str(data["item_id"])
    image = data.get("image")
    if isinstance(image, str) and item_ids:
        return next((i for i in item_ids if image.endswith("/" + i) or image == i), None)
    return None


def import_labels(store: LabelStore, path: str | Path, fmt: str | None = None, user: str = "") -> int:
    """Add the labels in ``path`` (``fmt`` from the extension when None) in one transaction."""
    path = Path(path)
    fmt = fmt or ("labelstudio" if path.suffix.lower() == ".json" else "csv")
    text = path.read_text(encoding="utf-8-sig")
    if fmt == "csv":
        rows = read_csv_labels(text)
    elif fmt == "labelstudio":
        try:
            tasks = json.loads(text)
        except json.JSONDecodeError as e:
            raise LabelError(f"{path} is not valid JSON: {e}") from None
        rows = read_labelstudio(tasks, store.item_ids())
    else:
        raise LabelError(f"format must be 'csv' or 'labelstudio', got {fmt!r}")
    return store.import_rows(rows, default_user=user)
