"""Active learning: query strategies (pure functions) and the active-learning loop.

>>> from semisup.active import ActiveLoop, SimulatedOracle, query, score, STRATEGIES

Names are imported on first use (PEP 562): ``semisup active --help`` builds its parser from
``semisup.active.command`` without loading scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "semisup.active.learners": ["DeepRunLearner", "SklearnLearner", "as_learner", "is_semi_supervised"],
    "semisup.active.loop": ["ActiveLoop", "ActiveResult", "RoundRecord", "SimulatedOracle"],
    "semisup.active.scores": [
        "bald_scores",
        "entropy_scores",
        "least_confidence_scores",
        "margin_scores",
        "typicality_scores",
    ],
    "semisup.active.selection": [
        "diverse_top",
        "kcenter_greedy",
        "kmeans_select",
        "top_n",
        "typiclust_select",
    ],
    "semisup.active.strategies": [
        "STRATEGIES",
        "MissingInputError",
        "Strategy",
        "get_strategy",
        "query",
        "score",
    ],
    "semisup.active.curves": ["learning_curves"],
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(_MODULE)


def __getattr__(name: str) -> Any:
    if name not in _MODULE:
        raise AttributeError(f"module 'semisup.active' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
