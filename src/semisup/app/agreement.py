"""Agreement between labelers: Cohen's kappa over the items two people labeled.

Each user's opinion of an item is their latest live label of it (``LabelStore.user_labels``). An item
labeled by two or more distinct users gives one pair: the labels of the user who labeled it first and of
the one who labeled it second (order by each user's first label of the item; later users are left out
of kappa, which compares two raters; the per-item counts ``labelers``/``agree`` see them all). Kappa
(Cohen 1960) is the observed agreement corrected for the agreement expected by chance from each rater's
class frequencies:

    kappa = (p_o - p_e) / (1 - p_e),   p_e = sum_c p_first(c) p_second(c)

undefined (None) with no pair, or when ``p_e == 1`` (both raters always gave the same one class).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from semisup.app.store import LabelEvent

__all__ = ["ItemAgreement", "cohen_kappa", "item_agreement", "rater_pairs"]


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels of the same items (None when undefined, see module)."""
    if len(first) != len(second):
        raise ValueError(f"the raters labeled {len(first)} and {len(second)} items; pass one pair per item")
    n = len(first)
    if n == 0:
        return None
    p_o = sum(a == b for a, b in zip(first, second, strict=True)) / n
    ca, cb = Counter(first), Counter(second)
    p_e = sum(ca[c] * cb[c] for c in ca) / (n * n)
    return None if p_e >= 1.0 else (p_o - p_e) / (1.0 - p_e)


def rater_pairs(user_labels: Sequence[LabelEvent]) -> list[tuple[str, str, str]]:
    """(item_id, first user's label, second user's label) per item labeled by >= 2 distinct users.

    ``user_labels``: each user's latest live label per item, ordered by when each user first labeled
    the item (``LabelStore.user_labels()``).
    """
    by_item: dict[str, list[LabelEvent]] = {}
    for e in user_labels:
        by_item.setdefault(e.item_id, []).append(e)
    return [(i, es[0].label, es[1].label) for i, es in by_item.items() if len(es) >= 2]  # type: ignore[misc]


@dataclass(frozen=True)
class ItemAgreement:
    """One item's labelers: how many distinct users labeled it, how many gave ``label``."""

    labelers: int
    agree: int


def item_agreement(user_labels: Sequence[LabelEvent], current: dict[str, str]) -> dict[str, ItemAgreement]:
    """Per item with a current label: distinct labelers and how many of them agree with ``current``."""
    out: dict[str, list[int]] = {}
    for e in user_labels:
        if e.item_id in current:
            counts = out.setdefault(e.item_id, [0, 0])
            counts[0] += 1
            counts[1] += e.label == current[e.item_id]
    return {i: ItemAgreement(n, k) for i, (n, k) in out.items()}
