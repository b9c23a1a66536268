"""The classifier of an open-set run: the net's K-class classifier plus an outlier detector.

OpenMatch and IOMatch train detectors beside the classifier, on the same penultimate features. The
detector lives inside the model (in place of the net's ``classifier``) so the optimizer, the EMA, DDP's
gradient averaging and every checkpoint cover it like any other layer, and a loaded run can score
inputs as unknown. The model's output stays the K closed-set logits: evaluation, plots and
``predict_proba`` see a K-class classifier.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from semisup.losses.open_set import ova_probs
from semisup.nets.heads import classifier_net

# An input is predicted "unknown" where its unknown score exceeds this (both papers' 0.5).
UNKNOWN_THRESHOLD = 0.5
OPEN_SET_KINDS = ("ova", "iomatch")


class OpenSetHead(nn.Module):
    """``closed`` (the net's classifier) and a ``detector`` on the same features (N, d).

    ``forward`` returns the closed-set logits (N, K) and keeps the detector's logits of that call in
    ``open_logits`` (with their graph, for the algorithm's loss), so one forward pass serves both.

    kind ``"ova"`` (OpenMatch): the detector is ``Linear(d, 2K, bias=False)``, K one-vs-all heads;
    ``open_logits`` (N, 2K). kind ``"iomatch"``: a projection ``Linear(d, d) → ReLU → Linear(d, proj_dim)``,
    then the multi-binary classifier ``Linear(proj_dim, 2K, bias=False)`` and the open-set classifier
    ``Linear(proj_dim, K+1)``; ``open_logits`` (N, 3K+1) = [multi-binary 2K | open-set K+1]. The new
    layers start as the authors' code starts them (Xavier normal weights, zero open-set bias).

    Raises:
        ValueError: an unknown kind, K < 2, or widths < 1.
    """

    def __init__(self, closed: nn.Module, kind: str, feature_dim: int, num_classes: int, proj_dim: int = 128):
        super().__init__()
        if kind not in OPEN_SET_KINDS:
            raise ValueError(f"open-set head kind must be one of {', '.join(OPEN_SET_KINDS)}, got {kind!r}")
        if num_classes < 2 or feature_dim < 1 or proj_dim < 1:
            raise ValueError(f"need K >= 2 and widths >= 1, got K={num_classes}, d={feature_dim}, {proj_dim}")
        self.kind, self.num_classes, self.proj_dim = kind, num_classes, proj_dim
        self.closed = closed
        K = num_classes
        if kind == "ova":
            self.detector: nn.Module = nn.Linear(feature_dim, 2 * K, bias=False)
        else:
            self.proj = nn.Sequential(
                nn.Linear(feature_dim, feature_dim), nn.ReLU(), nn.Linear(feature_dim, proj_dim)
            )
            self.mb = nn.Linear(proj_dim, 2 * K, bias=False)
            self.open = nn.Linear(proj_dim, K + 1)
            nn.init.xavier_normal_(self.mb.weight)
            nn.init.xavier_normal_(self.open.weight)
            nn.init.zeros_(self.open.bias)
        self.open_logits: Tensor | None = None

    def forward(self, features: Tensor) -> Tensor:
        if self.kind == "ova":
            self.open_logits = self.detector(features)
        else:
            z = self.proj(features)
            self.open_logits = torch.cat([self.mb(z), self.open(z)], dim=1)
        return self.closed(features)

    def split(self, open_logits: Tensor) -> tuple[Tensor, Tensor | None]:
        """(OVA / multi-binary logits (N, 2K), IOMatch's open-set logits (N, K+1) or None)."""
        k2 = 2 * self.num_classes
        return open_logits[:, :k2], (open_logits[:, k2:] if self.kind == "iomatch" else None)

    def unknown_score(self, closed_logits: Tensor, open_logits: Tensor) -> Tensor:
        """(N,) probability that each input is of no known class, in [0, 1].

        ``"ova"``: the outlier probability of the OVA head of the predicted class (OpenMatch's test rule).
        ``"iomatch"``: the open-set classifier's probability of the (K+1)-th, "outlier", class.
        """
        ova, open_set = self.split(open_logits.float())
        if open_set is not None:
            return open_set.softmax(dim=1)[:, -1]
        pred = closed_logits.argmax(dim=1)
        return ova_probs(ova)[torch.arange(len(pred), device=pred.device), 0, pred]

    def meta(self) -> dict[str, int | str]:
        """What ``attach_open_set_head`` needs to rebuild this head (checkpoint ``meta``)."""
        return {"kind": self.kind, "proj_dim": self.proj_dim}


def attach_open_set_head(model: nn.Module, kind: str, num_classes: int, proj_dim: int = 128) -> OpenSetHead:
    """Put an ``OpenSetHead`` around the classifier of ``model`` (a net, or the engine's
    ``Sequential(Standardize, net)``) in place, on the classifier's device; return it.

    Raises:
        ValueError: the net has no ``classifier`` and ``feature_dim`` (see ``classifier_net``).
    """
    net = classifier_net(model)
    if isinstance(net.classifier, OpenSetHead):
        return net.classifier
    ref = next(net.classifier.parameters())
    head = OpenSetHead(net.classifier, kind, int(net.feature_dim), num_classes, proj_dim)
    net.classifier = head.to(ref.device)
    return head


def find_open_set_head(model: nn.Module) -> OpenSetHead | None:
    """The ``OpenSetHead`` inside ``model`` (also through EMA, DDP and compile wrappers), or None."""
    return next((m for m in model.modules() if isinstance(m, OpenSetHead)), None)
