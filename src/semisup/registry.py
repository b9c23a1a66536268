"""Name -> class registries for algorithms, networks and data sets.

An unknown name raises a ``KeyError`` subclass that names the closest registered names, so a typo
on the command line is fixed in one try. Each registry imports the modules that fill it on first use, so
``import semisup`` (and ``semisup --help``) need not load torch.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """Raised for a name that no registry entry has; the message suggests the closest ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def closest(name: str, choices: list[str] | tuple[str, ...] | set[str], n: int = 3) -> list[str]:
    """The registered names that look most like ``name`` (for 'did you mean ...?' messages)."""
    return difflib.get_close_matches(name, sorted(choices), n=n, cutoff=0.4)


def unknown_name_message(kind: str, name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    hint = closest(name, choices)
    did_you_mean = f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
    return f"unknown {kind} {name!r}.{did_you_mean} Choose one of: {', '.join(sorted(choices))}."


class Registry(Generic[T]):
    """A named table of entries; ``@registry.register("name")`` adds one."""

    def __init__(self, kind: str, filled_by: str | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._filled_by = filled_by  # the module whose import registers the built-in entries
        self._filled = filled_by is None

    def _fill(self) -> None:
        if not self._filled:
            self._filled = True  # first: the module's own lookups while it registers must not recurse
            try:
                importlib.import_module(self._filled_by)  # type: ignore[arg-type]
            except BaseException:
                self._filled = False
                raise

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            if isinstance(entry, type):
                entry.name = name  # type: ignore[attr-defined]
            return entry

        return add

    def get(self, name: str) -> T:
        self._fill()
        if not isinstance(name, str):
            raise UnknownNameError(f"{self.kind} name must be text, got {name!r}")
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(unknown_name_message(self.kind, name, self._entries.keys())) from None

    def names(self) -> list[str]:
        self._fill()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._fill()
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._fill()
        return len(self._entries)


ALGORITHMS: Registry = Registry("algorithm", "semisup.algorithms")
NETS: Registry = Registry("net", "semisup.nets")
DATASETS: Registry = Registry("data set", "semisup.data.builtin")

# The registered names, for help texts that must not import torch to list them (``semisup --help``);
# tests/test_cli.py checks them against the registries.
ALGORITHM_NAMES = (
    "abc", "acr", "adamatch", "comatch", "crest", "crmatch", "darp", "dash", "defixmatch",
    "distill", "fixmatch", "flexmatch", "freematch", "iomatch", "mean_teacher", "mixmatch",
    "openmatch", "pi_model", "pseudo_label", "refixmatch", "remixmatch", "sequencematch", "simclr",
    "simmatch", "softmatch", "supervised", "temporal_ensembling", "uda", "vat",
)  # fmt: skip
NET_NAMES = ("cnn", "cnn1d", "mlp", "resnet1d", "table_mlp", "wrn28_2")
DATASET_NAMES = ("digits", "mnist5k", "moons")
