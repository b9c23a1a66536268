"""MixUp: convex combinations of examples and of their label distributions.

Zhang et al. 2018, "mixup: Beyond Empirical Risk Minimization", https://arxiv.org/abs/1710.09412;
MixMatch's variant λ' = max(λ, 1 − λ) and one λ per example: Berthelot et al. 2019, eq. 8–11
(https://arxiv.org/abs/1905.02249).
"""

from __future__ import annotations

import torch
from torch import Tensor


def mixup(
    x: Tensor, y: Tensor, alpha: float, *, max_lam: bool = False, per_example: bool = False
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """x_mixed = λ x + (1 − λ) x[perm], y_mixed = λ y + (1 − λ) y[perm], λ ~ Beta(α, α).

    Randomness (λ and ``perm``) comes from torch's global generator on ``x``'s device, so
    ``torch.manual_seed`` makes it reproducible and nothing syncs with the host.

    Args:
        x: (N, ...) inputs.
        y: (N, C) label distributions (one-hot or soft).
        alpha: Beta concentration, >= 0. α = 0 means no mixing (λ = 1, ``perm`` the identity), as in
            Zhang et al.'s code.
        max_lam: use λ' = max(λ, 1 − λ), so each mixed row stays closest to its own example (MixMatch).
        per_example: draw one λ per row (MixMatch's official code) instead of one for the batch.

    Returns:
        x_mixed (N, ...), y_mixed (N, C), lam (N,) the weight of each row's own example (all equal unless
        ``per_example``), perm (N,) the partner of each row.

    Raises:
        ValueError: if ``alpha`` < 0 or ``x`` and ``y`` differ in length.
    """
    if not alpha >= 0:
        raise ValueError(f"mixup alpha must be >= 0, got {alpha}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
    n, dtype = x.shape[0], x.dtype if x.is_floating_point() else torch.float32
    if alpha == 0:
        return x, y, torch.ones(n, dtype=dtype, device=x.device), torch.arange(n, device=x.device)
    conc = torch.tensor(float(alpha), dtype=torch.float32, device=x.device)
    lam = torch.distributions.Beta(conc, conc).sample((n if per_example else 1,)).to(dtype)
    if max_lam:
        lam = torch.maximum(lam, 1 - lam)
    lam = lam.expand(n)
    perm = torch.randperm(n, device=x.device)
    lam_x = lam.view(-1, *([1] * (x.dim() - 1)))
    lam_y = lam.view(-1, *([1] * (y.dim() - 1)))
    return lam_x * x + (1 - lam_x) * x[perm], lam_y * y + (1 - lam_y) * y[perm], lam, perm
