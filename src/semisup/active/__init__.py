"""Active learning: query strategies (pure functions) and the active-learning loop.

>>> from semisup.active import query, score, STRATEGIES
"""

from semisup.active.scores import (
    bald_scores,
    entropy_scores,
    least_confidence_scores,
    margin_scores,
    typicality_scores,
)
from semisup.active.selection import diverse_top, kcenter_greedy, kmeans_select, top_n, typiclust_select
from semisup.active.strategies import STRATEGIES, MissingInputError, Strategy, get_strategy, query, score

__all__ = [
    "STRATEGIES",
    "MissingInputError",
    "Strategy",
    "bald_scores",
    "diverse_top",
    "entropy_scores",
    "get_strategy",
    "kcenter_greedy",
    "kmeans_select",
    "least_confidence_scores",
    "margin_scores",
    "query",
    "score",
    "top_n",
    "typicality_scores",
    "typiclust_select",
]
