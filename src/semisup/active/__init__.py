"""Active learning: query strategies (pure functions) and the active-learning loop.

>>> from semisup.active import ActiveLoop, SimulatedOracle, query, score, STRATEGIES
"""

from semisup.active.learners import DeepRunLearner, SklearnLearner, as_learner, is_semi_supervised
from semisup.active.loop import ActiveLoop, ActiveResult, RoundRecord, SimulatedOracle
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
    "ActiveLoop",
    "ActiveResult",
    "DeepRunLearner",
    "RoundRecord",
    "SimulatedOracle",
    "SklearnLearner",
    "as_learner",
    "is_semi_supervised",
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
