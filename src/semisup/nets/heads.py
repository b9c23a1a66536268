"""SimCLRv2's projection head and the classifier that fine-tunes from one of its layers.

Chen et al., "Big Self-Supervised Models are Strong Semi-Supervised Learners" (SimCLRv2), NeurIPS 2020,
https://arxiv.org/abs/2006.10029: a deeper (3-layer) projection head than SimCLR's 2 layers, and
fine-tuning "from the middle layer of the projection head" — the encoder plus the head's first layer,
with a new linear classifier on top — instead of throwing the whole head away.
"""

from __future__ import annotations

from torch import Tensor, nn


def _block(d_in: int, d_out: int, last: bool) -> nn.Sequential:
    # Linear without bias (BatchNorm follows), BatchNorm, and ReLU on every layer but the last.
    layers: list[nn.Module] = [nn.Linear(d_in, d_out, bias=False), nn.BatchNorm1d(d_out)]
    if not last:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SimCLRProjectionHead(nn.Sequential):
    """``num_layers`` blocks of Linear → BatchNorm1d (→ ReLU except the last): (N, in_dim) → (N, out_dim).

    Block ``i`` is ``self[i]``; blocks ``0..num_layers-2`` map to ``hidden_dim``, the last to ``out_dim``.
    SimCLRv2 uses 3 layers with hidden = the encoder's width; ``layers(k)`` returns the first k blocks
    for fine-tuning from the head's k-th layer.

    Raises:
        ValueError: a width < 1 or ``num_layers`` < 1.

    Example:
        >>> import torch
        >>> head = SimCLRProjectionHead(64, 64, 32)
        >>> head(torch.randn(5, 64)).shape
        torch.Size([5, 32])
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 3) -> None:
        if min(in_dim, hidden_dim, out_dim) < 1:
            raise ValueError(f"head widths must be >= 1, got {in_dim}, {hidden_dim}, {out_dim}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        super().__init__(*(_block(dims[i], dims[i + 1], i == num_layers - 1) for i in range(num_layers)))
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_dim) -> (N, out_dim)."""
        return super().forward(x)


def head_classifier(dims: list[int], num_classes: int) -> nn.Sequential:
    """The first ``len(dims) - 1`` projection-head blocks (widths ``dims``) then a new linear classifier.

    Block ``i`` sits at index ``i`` as in ``SimCLRProjectionHead``, so the pretrained head's state-dict
    keys load unchanged; the classifier is ``self[len(dims) - 1]``. The blocks keep their ReLU (they
    were hidden layers of the head).
    """
    if len(dims) < 2:
        raise ValueError(f"dims must hold the input width and at least one block width, got {dims}")
    blocks = [_block(dims[i], dims[i + 1], last=False) for i in range(len(dims) - 1)]
    return nn.Sequential(*blocks, nn.Linear(dims[-1], num_classes))


def head_dims_from_state(state: dict[str, Tensor], prefix: str, num_layers: int) -> list[int]:
    """Widths ``[in, d_1, ..., d_k]`` of the first ``num_layers`` head blocks stored under ``prefix``
    (``prefix + "{i}.0.weight"`` is block i's (d_out, d_in) linear weight).

    Raises:
        ValueError: the state holds fewer head blocks than asked for.
    """
    dims: list[int] = []
    for i in range(num_layers):
        w = state.get(f"{prefix}{i}.0.weight")
        if w is None or w.ndim != 2:
            have = sum(1 for k in state if k.startswith(prefix) and k.endswith(".0.weight"))
            raise ValueError(
                f"asked to fine-tune from projection-head layer {num_layers} but the source has {have} "
                "head layer(s)"
            )
        if not dims:
            dims.append(int(w.shape[1]))
        dims.append(int(w.shape[0]))
    return dims
