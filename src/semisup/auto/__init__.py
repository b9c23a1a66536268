"""``--algorithm auto``: cross-validated choice of supervised, classic or deep SSL per data kind."""

from semisup.auto.run import ClassicPredictor, auto_fit, load_classic
from semisup.auto.search import AutoReport, search

__all__ = ["AutoReport", "ClassicPredictor", "auto_fit", "load_classic", "search"]
