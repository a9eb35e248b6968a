"""The documentation's examples run: doctests in docstrings, README and the doc pages.

Pages whose python blocks are fragments of a host's code (a Flask view, an Alembic
``env.py``) are left out: :data:`FRAGMENT_PAGES`.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import kudos

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
FRAGMENT_PAGES = {"integrate.md", "policies.md", "stores.md"}
RUNNABLE_PAGES = [ROOT / "README.md"] + [
    page for page in sorted(DOCS.glob("*.md")) if page.name not in FRAGMENT_PAGES
]


def _modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(kudos.__path__, "kudos.")
        if not m.name.endswith("__main__")
    )


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=lambda p: p.name)
def test_page_examples_run_in_order(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # pages may create community.db
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, page.name, "exec"), namespace)


def test_the_pages_that_run_have_examples() -> None:
    for page in RUNNABLE_PAGES:
        text = page.read_text()
        if page.name not in ("api.md", "cli.md", "concepts.md"):
            assert "```python" in text, f"{page.name} has no python examples"
