"""The package layout: rules are pure data, and nothing imports in a circle.

Each capability is a package (``kudos/ideas/``, ``kudos/payback/``, ...) whose
``rules.py`` holds the policy data only. Importing the policy data must not
load the engine, a store or ``Community``: a host validating a policy file,
or a tool reading one, pays for nothing that runs. And the module graph of
``src/kudos`` (imports inside functions and under ``TYPE_CHECKING`` included)
has no cycle, so every module can be read, and imported, on its own.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import kudos

SRC = Path(kudos.__file__).parent

# The modules a rules module may never pull in, by name prefix.
FORBIDDEN = ("kudos.engine", "kudos.stores", "kudos.community", "kudos.cli", "kudos.importers")
FORBIDDEN_SUFFIXES = (".handlers", ".api")

PURE = sorted(
    [f"kudos.{path.parent.name}.rules" for path in SRC.glob("*/rules.py")]
    + ["kudos.policy", "kudos.policies", "kudos.events", "kudos.model", "kudos.errors"]
    + ["kudos.periods"]
)


def test_every_capability_package_has_its_rules_module() -> None:
    capabilities = {"ideas", "payback", "referrals", "recognition", "leaderboards", "abuse"}
    capabilities |= {"support"}
    assert {f"kudos.{c}.rules" for c in capabilities} <= set(PURE)


def _loaded_by(module: str) -> list[str]:
    """The kudos modules in ``sys.modules`` after importing ``module`` in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('kudos'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=SRC.parent
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize("module", PURE)
def test_importing_policy_data_loads_no_engine_store_or_community(module: str) -> None:
    loaded = _loaded_by(module)
    assert module in loaded
    bad = [m for m in loaded if m.startswith(FORBIDDEN) or m.endswith(FORBIDDEN_SUFFIXES)]
    assert bad == [], f"importing {module} loaded {bad}"


def test_importing_kudos_alone_loads_no_store_until_asked() -> None:
    loaded = _loaded_by("kudos")
    assert not [m for m in loaded if m.startswith(FORBIDDEN)]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the kudos modules it imports anywhere in its source.

    Imports inside functions and under ``if TYPE_CHECKING:`` count. ``from a
    import b`` points at ``a.b`` when that is a module, else at ``a``.
    """
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.add(sub if sub in files else module)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or ``None`` when it has none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_relative_type_checking_and_local_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "kudos"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import x\n"
    )
    (pkg / "b.py").write_text("def f():\n    from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from .. import a\n")
    graph = import_graph(pkg)
    assert graph["kudos.a"] == {"kudos.b"}
    assert graph["kudos.b"] == {"kudos.sub.c"}
    assert graph["kudos.sub.c"] == {"kudos.a"}
    assert find_cycle(graph) == ["kudos.a", "kudos.b", "kudos.sub.c", "kudos.a"]


def test_src_kudos_imports_nothing_in_a_circle() -> None:
    cycle = find_cycle(import_graph(SRC))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_engine_knows_handlers_only_through_the_registry() -> None:
    graph = import_graph(SRC)
    handlers = {m for m in graph if m.endswith(".handlers") or m == "kudos.forum.reputation"}
    engine = {m for m in graph if m.startswith("kudos.engine.")}
    assert "kudos.engine.registry" in engine
    assert graph["kudos.engine.registry"] >= handlers
    assert {m: graph[m] & handlers for m in engine - {"kudos.engine.registry"}} == {
        m: set() for m in engine - {"kudos.engine.registry"}
    }


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("kudos.ideas", "IdeaRules"),
        ("kudos.ideas", "IdeasAPI"),
        ("kudos.ideas", "vote_budget"),
        ("kudos.payback", "PaybackRules"),
        ("kudos.payback", "PaybackAPI"),
        ("kudos.referrals", "ReferralsAPI"),
        ("kudos.recognition", "current_rank"),
        ("kudos.recognition", "RecognitionAPI"),
        ("kudos.leaderboards", "LeaderboardsAPI"),
        ("kudos.abuse", "AbuseAPI"),
        ("kudos", "Community"),
        ("kudos", "SqlStore"),
        ("kudos", "importers"),
    ],
)
def test_public_names_keep_their_import_paths(module: str, name: str) -> None:
    code = f"from {module} import {name}"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=SRC.parent)


def test_every_public_name_of_each_capability_resolves() -> None:
    import importlib

    for package in ("ideas", "payback", "referrals", "recognition", "leaderboards", "abuse"):
        module = importlib.import_module(f"kudos.{package}")
        for name in module.__all__:
            assert getattr(module, name) is not None, f"kudos.{package}.{name}"
    for name in kudos.__all__:
        assert getattr(kudos, name) is not None, f"kudos.{name}"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = kudos.ideas.Nope  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = kudos.Nope  # type: ignore[attr-defined]
