"""DeFixMatch: FixMatch with the debiased ("safe") unsupervised term.

Schmutz et al., "Don't fear the unlabelled: safe semi-supervised learning via debiasing", ICLR 2023.
https://arxiv.org/abs/2203.07512 (authors' code: HugoSchmutz/DeFixmatch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, forward_cat, ssl_logs
from semisup.losses import confidence_mask, masked_mean, pseudo_label_target, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("defixmatch")
class DeFixMatch(Algorithm):
    """loss = ½[CE(x_w) + CE(x_s)] + λ_u · (H(u) − H(x)).

    H(v) = mean_b[ 1(max p(v_w) ≥ τ) · CE(argmax p(v_w), p(v_s)) ] for a batch v with weak and strong views.

    H(u) is FixMatch's pseudo-label loss on the unlabeled batch; H(x) is the same loss computed on the
    labeled batch as if it were unlabeled (pseudo-labels from its weak view, trained on its strong view,
    ``batch.lb_views``), its labels ignored. Subtracting it makes the unlabeled term an unbiased
    estimate of zero when pseudo-labels carry no information, so SSL cannot fall below supervised
    training in expectation (the paper's debiasing). The supervised term averages the weak and strong
    labeled views, as in the paper and the authors' code, which is why λ_u = ½ (paper; USB's configs too).
    ``train/unsup_loss`` logs H(u) and ``train/debias_loss`` H(x); ``train/mask_ratio`` is on u.

    Config (paper defaults): ``threshold`` τ=0.95, ``lambda_u`` λ_u=0.5, ``hard_label``=True, ``T``=1
    (temperature of soft pseudo-labels, used only if not hard).
    """

    paper = "Schmutz et al. 2023, https://arxiv.org/abs/2203.07512"
    unlabeled_views = ("weak", "strong")
    labeled_extra_views = ("strong",)
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 0.5
        hard_label: bool = True
        T: float = 1.0

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)

    def pseudo_label_loss(self, logits_w: torch.Tensor, logits_s: torch.Tensor):
        """FixMatch's masked loss of the strong-view logits against the weak view's pseudo-labels."""
        logits_w = logits_w.detach().float()  # targets only
        pseudo, mask = confidence_mask(torch.softmax(logits_w, dim=-1), self.cfg.threshold)
        target = pseudo_label_target(logits_w, pseudo, self.cfg.hard_label, self.cfg.T)
        return masked_mean(soft_cross_entropy(logits_s.float(), target), mask), pseudo, mask

    def training_step(self, model, batch, ctx: StepContext):
        if len(batch.lb_views) != 1:
            raise ValueError("defixmatch needs the strong view of the labeled batch in batch.lb_views")
        (x_lb_s,) = batch.lb_views
        u_w, u_s = batch.u_views
        logits_x, logits_x_s, logits_u_w, logits_u_s = forward_cat(model, batch.x_lb, x_lb_s, u_w, u_s)
        sup_loss = 0.5 * (F.cross_entropy(logits_x, batch.y_lb) + F.cross_entropy(logits_x_s, batch.y_lb))

        unsup_loss, pseudo, mask = self.pseudo_label_loss(logits_u_w, logits_u_s)
        debias_loss, _, mask_lb = self.pseudo_label_loss(logits_x, logits_x_s)

        loss = sup_loss + self.cfg.lambda_u * (unsup_loss - debias_loss)
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=mask,
            pseudo=pseudo,
            u_true=batch.u_true,
            debias_loss=debias_loss.detach(),
            mask_ratio_lb=mask_lb.mean(),
        )
        return loss, logs
