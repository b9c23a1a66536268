"""The labeling web app (``semisup label``): label items in a browser, saved to SQLite as you go."""

from semisup.app.interchange import export_labels, import_labels
from semisup.app.items import Items, load_items
from semisup.app.model import Suggester, fit_proba, queue_order
from semisup.app.server import AppError, LabelServer, check_bind, make_server
from semisup.app.service import LabelApp, shortcut_keys
from semisup.app.store import LabelError, LabelEvent, LabelStore, UnknownItemError

__all__ = [
    "AppError",
    "Items",
    "LabelApp",
    "LabelError",
    "LabelEvent",
    "LabelServer",
    "LabelStore",
    "Suggester",
    "UnknownItemError",
    "check_bind",
    "export_labels",
    "fit_proba",
    "import_labels",
    "load_items",
    "make_server",
    "queue_order",
    "shortcut_keys",
]
