"""The documentation's examples run: doctests in docstrings and the quickstart page."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import kudos

DOCS = Path(__file__).parent.parent / "docs"
RUNNABLE_PAGES = ["quickstart.md"]


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


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_examples_run_in_order(page: str) -> None:
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{page} has no python examples"
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, f"{page}", "exec"), namespace)
