"""Semi-supervised learning with the scikit-learn API: graph methods, self-training, deep SSL estimators.

``y == -1`` marks unlabeled samples; estimators work in ``Pipeline`` and with string labels.
"""

from semisup.classic._validation import HasMethods, Interval, InvalidParameterError, validate_params
from semisup.classic.deep import DeepSSLClassifier, FixMatchClassifier, MeanTeacherClassifier
from semisup.classic.graph import SlowNeighbourSearchWarning, build_knn_graph
from semisup.classic.label_propagation import LabelPropagation, LabelSpreading, estimate_fit_memory
from semisup.classic.self_training import (
    BelowBaseWarning,
    PseudoLabelWarning,
    SelfTrainingClassifier,
    select_pseudo_labels,
)

__all__ = [
    "BelowBaseWarning",
    "DeepSSLClassifier",
    "FixMatchClassifier",
    "MeanTeacherClassifier",
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "LabelPropagation",
    "LabelSpreading",
    "PseudoLabelWarning",
    "SelfTrainingClassifier",
    "SlowNeighbourSearchWarning",
    "build_knn_graph",
    "estimate_fit_memory",
    "select_pseudo_labels",
    "validate_params",
]
