"""Dependencies point one way: no module of semisup imports from a layer above its own.

Every ``import`` and ``from ... import`` in src/semisup is read with ``ast`` (at module level, inside
functions and under ``TYPE_CHECKING`` alike) and mapped to a layer by the module's package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import semisup

SRC = Path(semisup.__file__).parent

# Lowest first; a module may import its own layer and the ones below. Anything not listed is the top
# level: the run orchestration (semisup.run), check, predictor, auto, benchmark, cli, app, active, classic,
# demo, plots.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("registry", "config", "seeds", "collective")),
    # text turns a text column into embedding vectors for the data readers (data.load), and reads files
    # with data's helpers: a data module that lives at the top of the package for its optional dependency.
    ("parts", ("data", "nets", "losses", "components", "text")),
    ("algorithms", ("algorithms",)),
    ("engine", ("engine",)),
]
TOP = len(LAYERS)

# (importer, imported) -> why an upward import is there. Each must sit inside a function (never run at
# import time) and still be needed: the test fails on a stale entry.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    (
        "semisup.engine.trainer",
        "semisup.run",
    ): "deprecated alias: semisup.engine.trainer.fit/resume (module __getattr__) warn and forward",
}


def layer_of(module: str) -> int:
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    for i, (_, members) in enumerate(LAYERS):
        if name in members:
            return i
    return TOP


def layer_name(module: str) -> str:
    i = layer_of(module)
    return "top level" if i == TOP else LAYERS[i][0]


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, mod: str, is_package: bool) -> list[tuple[str, int, bool]]:
    """(imported name, line, inside a function) for every semisup import in ``source``, the text of
    module ``mod``; ``from a.b import c`` gives ``a.b.c`` (``c`` may be a submodule: ``from semisup
    import run``)."""
    package = mod if is_package else mod.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: resolve against the package
                    parts = package.split(".")
                    base = ".".join([*parts[: len(parts) - child.level + 1], *([base] if base else [])])
                names = [f"{base}.{a.name}" for a in child.names]
            found.extend((n, child.lineno, in_function) for n in names if n.split(".")[0] == "semisup")
            visit(child, inner)

    visit(ast.parse(source), False)
    return found


def file_imports(path: Path) -> list[tuple[str, int, bool]]:
    return imports(path.read_text(), module_name(path), path.name == "__init__.py")


def test_layer_map_covers_real_packages():
    """Every name in LAYERS is a module or package of semisup (a typo would silently make it top level)."""
    for _, members in LAYERS:
        for name in members:
            assert (SRC / name).is_dir() or (SRC / f"{name}.py").is_file(), name
    assert layer_of("semisup.engine.trainer") == 3 and layer_of("semisup.run") == TOP
    assert layer_of("semisup.nets.heads") == 1 and layer_of("semisup.registry") == 0


def test_no_module_imports_from_a_higher_layer():
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50  # the whole package was read
    upward, used = [], set()
    for path in files:
        mod = module_name(path)
        for target, line, in_function in file_imports(path):
            if layer_of(target) <= layer_of(mod):
                continue
            if (mod, target) in ALLOWED_UPWARD and in_function:
                used.add((mod, target))
                continue
            where = "in a function" if in_function else "at module level"
            upward.append(
                f"{path.relative_to(SRC.parent)}:{line} {mod} ({layer_name(mod)}) imports "
                f"{target} ({layer_name(target)}) {where}"
            )
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)
    assert used == set(ALLOWED_UPWARD), f"stale allowed imports: {set(ALLOWED_UPWARD) - used}"


def test_the_checker_sees_lazy_relative_and_submodule_imports():
    """Else the test above would prove nothing about those imports."""
    source = (
        "from semisup.config import RunConfig\n"
        "from . import defaults\n"
        "from ..nets.heads import put_head\n"
        "def f():\n"
        "    from semisup import run\n"
        "    import semisup.check\n"
    )
    found = imports(source, "semisup.engine.trainer", is_package=False)
    assert found == [
        ("semisup.config.RunConfig", 1, False),
        ("semisup.engine.defaults", 2, False),
        ("semisup.nets.heads.put_head", 3, False),
        ("semisup.run", 5, True),
        ("semisup.check", 6, True),
    ]
    assert [layer_of(t) for t, *_ in found] == [0, 3, 1, TOP, TOP]


def test_engine_trainer_fit_is_a_deprecated_alias():
    import warnings

    import semisup.engine.trainer as trainer
    import semisup.run

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert trainer.fit is semisup.run.fit and trainer.resume is semisup.run.resume
    assert [w.category for w in caught] == [DeprecationWarning] * 2
    assert "semisup.fit" in str(caught[0].message)
    assert semisup.fit is semisup.run.fit


def test_algorithms_reexports_come_from_the_registry():
    import semisup.algorithms as algorithms
    from semisup.registry import ALGORITHMS

    classes = {ALGORITHMS.get(name) for name in ALGORITHMS.names()}
    exported = {getattr(algorithms, n) for n in algorithms.__all__}
    assert classes <= exported  # SimCLR and Distill included: no hand-kept list misses one
    assert {"Algorithm", "StepContext", "forward_cat", "SimCLR", "Distill"} <= set(algorithms.__all__)


def test_import_semisup_stays_light():
    """Neither torch nor Fabric is loaded by ``import semisup`` or by reading its registry's names."""
    code = (
        "import sys, semisup, semisup.registry, semisup.config\n"
        "sys.exit(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'lightning_fabric'}) != [])"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
