"""The cells of a CSV table as numbers: numeric columns, categorical columns (as codes), missing cells.

Shared by training (``load_csv``) and prediction (``read_inputs``), so a file is read the same way both
times. A cell is missing when blank or one of ``MISSING`` (any case): NaN in a numeric column and NaN as
the code of a categorical one. A column whose present cells all parse as numbers is numeric; any other
column is categorical, with codes 0..K-1 following its sorted distinct values.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np

from semisup.data.dataset import DataError

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "<na>", "nat"})
# Warn when a categorical column looks like an identifier (one-hot width) or like numbers with typos.
_MANY_CATEGORIES = 100
_MOSTLY_NUMERIC = 0.9


def read_rows(path: str | Path) -> tuple[list[str], np.ndarray, list[int]]:
    """Header, (N, k) stripped text cells and the file line of each row; blank lines are skipped.

    Raises:
        DataError: no data row, or a row whose cell count differs from the header's.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [(n, r) for n, r in enumerate(csv.reader(f), start=1) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DataError(f"{path} has no data rows; it needs a header row and one row per example")
    header = [h.strip() for h in rows[0][1]]
    for n, r in rows[1:]:
        if len(r) != len(header):
            raise DataError(f"{path} line {n} has {len(r)} cells but the header has {len(header)} columns")
    cells = np.char.strip(np.array([r for _, r in rows[1:]], dtype=str).reshape(len(rows) - 1, len(header)))
    return header, cells, [n for n, _ in rows[1:]]


def missing_mask(cells: np.ndarray) -> np.ndarray:
    """True where a text cell is missing (blank, NA, N/A, NaN, null, None, ?)."""
    return np.isin(np.char.lower(cells), list(MISSING))


def _numbers(cells: np.ndarray) -> np.ndarray | None:
    """Floats (NaN where missing), or None if some present cell is not a number."""
    out = np.full(cells.shape, np.nan)
    present = ~missing_mask(cells)
    try:
        out[present] = cells[present].astype(np.float64)
    except ValueError:
        return None
    return out


def is_number(text: str) -> bool:
    """True when ``float(text)`` parses."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def codes(cells: np.ndarray, categories: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes of ``cells`` in ``categories`` (NaN where missing or unknown) and the unknown values."""
    lookup = {v: float(i) for i, v in enumerate(categories)}
    missing = missing_mask(cells)
    out = np.array([lookup.get(c, np.nan) for c in cells.tolist()], dtype=np.float64)
    unknown = sorted(set(cells[~missing & np.isnan(out)].tolist()))
    return np.where(missing, np.nan, out), unknown


def encode_table(
    names: list[str], cells: np.ndarray, what: str = "table"
) -> tuple[np.ndarray, dict[str, list[str]]]:
    """(N, D) text cells -> float32 (N, D) values and ``{column: categories}`` of its categorical columns.

    Numeric columns keep their numbers (NaN where missing); any other column becomes category codes
    0..K-1 in the sorted order of its values (NaN where missing). Warns when a categorical column has
    many distinct values (an identifier?) or is mostly numbers (a typo in a numeric column?).
    """
    X = np.empty(cells.shape, dtype=np.float32)
    categories: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        col = cells[:, j]
        nums = _numbers(col)
        if nums is not None:
            X[:, j] = nums
            continue
        present = col[~missing_mask(col)]
        values = sorted(set(present.tolist()))
        categories[name] = values
        X[:, j], _ = codes(col, values)
        numeric = np.array([is_number(v) for v in values])
        if numeric.mean() >= _MOSTLY_NUMERIC:
            text = [v for v, isnum in zip(values, numeric, strict=True) if not isnum][:3]
            warnings.warn(
                f"{what}: column {name!r} is read as categorical because of the text {text} among numbers; "
                "fix those cells (or mark them missing: blank or NA) to keep it numeric",
                stacklevel=3,
            )
        elif len(values) > max(_MANY_CATEGORIES, len(present) // 2):
            warnings.warn(
                f"{what}: categorical column {name!r} has {len(values)} distinct values in {len(present)} "
                f"rows and becomes {len(values)} one-hot features; if it is an identifier, drop it",
                stacklevel=3,
            )
    return X, categories


def categorical_columns(columns: list[str] | None, categories: dict[str, list[str]] | None) -> dict[int, int]:
    """``{column index: number of categories}`` of a table's categorical columns ({} if none)."""
    if not columns or not categories:
        return {}
    return {columns.index(name): len(values) for name, values in categories.items() if name in columns}
