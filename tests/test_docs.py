"""The documentation's examples run: doctests in docstrings, README and the doc pages.

Every python block of a page runs on its own, in a fresh namespace, unless its
first line says it goes on from the block before (``# (continued)``).

Pages whose python blocks are fragments of a host's code (a Flask view, an Alembic
``env.py``) are left out: :data:`FRAGMENT_PAGES`. On a page that runs, a single block
that is a fragment (it reads a file the reader has, say) says so on its first line,
``# (fragment)``, and is compiled but not run.
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
FRAGMENT_PAGES = {"integrate.md", "stores.md"}
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


CONTINUED = "# (continued)"
"""The first line of a python block that goes on from the page's previous block."""

FRAGMENT = "# (fragment)"
"""The first line of a python block that is compiled but not run (it needs the reader's files)."""


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=lambda p: p.name)
def test_page_examples_run_each_on_its_own(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each python block runs in a fresh namespace, as a reader who copies it runs it.

    A block that builds on the one before says so on its first line,
    ``# (continued)``, and runs in that block's namespace.
    """
    monkeypatch.chdir(tmp_path)  # pages may create community.db
    namespace: dict[str, object] = {}
    for number, block in enumerate(_blocks(page), 1):
        code = compile(block, f"{page.name} (python block {number})", "exec")
        if block.startswith(FRAGMENT):
            continue
        if not block.startswith(CONTINUED):
            namespace = {}
        exec(code, namespace)


def test_a_continued_block_follows_another() -> None:
    for page in RUNNABLE_PAGES:
        blocks = _blocks(page)
        assert not (blocks and blocks[0].startswith(CONTINUED)), page.name


def test_a_runnable_page_runs_most_of_its_blocks() -> None:
    """Fragments are the exception: most of a runnable page's blocks run."""
    for page in RUNNABLE_PAGES:
        blocks = _blocks(page)
        fragments = [b for b in blocks if b.startswith(FRAGMENT)]
        assert len(fragments) * 2 < max(len(blocks), 1), page.name


def test_policies_page_runs() -> None:
    """The policy page's examples run with the docs test: its tables cannot drift from code."""
    assert DOCS / "policies.md" in RUNNABLE_PAGES


def test_the_pages_that_run_have_examples() -> None:
    for page in RUNNABLE_PAGES:
        text = page.read_text()
        if page.name not in ("api.md", "cli.md", "concepts.md"):
            assert "```python" in text, f"{page.name} has no python examples"


def test_installation_says_how_to_install_without_a_package_index() -> None:
    """No release is on an index yet: the docs install from a clone or a built wheel."""
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        text = page.read_text()
        assert not re.search(r"pip install ['\"]?kudos-community", text), page.name
    quickstart = (DOCS / "quickstart.md").read_text()
    assert "pip install -e ." in quickstart and "python3 -m build" in quickstart


def test_docstring_outputs_are_not_read_as_cross_references() -> None:
    """mkdocstrings reads a module docstring's doctest output ``[(...), ...]`` as a link.

    ``mkdocs build --strict`` (run by CI) then fails on the link it cannot resolve.
    """
    finder = doctest.DocTestFinder(recurse=False)
    for name in _modules():
        for test in finder.find(importlib.import_module(name)):
            for example in test.examples:
                for line in example.want.splitlines():
                    assert not re.match(r"\[\(.*\]", line), f"{test.name}: output line {line!r}"


def test_no_table_cell_escapes_a_bar_inside_code() -> None:
    """Markdown shows ``\\|`` inside a code span literally, backslash and all."""
    pages = sorted(DOCS.glob("*.md"))
    escaped = [
        f"{page.name}: {span}"
        for page in pages
        for line in page.read_text().splitlines()
        if line.startswith("|")
        for span in re.findall(r"`[^`]*`", line)
        if "\\|" in span
    ]
    assert escaped == []


_SHOWN = re.compile(r"^print\(.*\)\n# (.+)$", flags=re.M)
"""A ``print(...)`` line followed by a comment line: the comment is what it prints (then,
perhaps, a remark about it)."""


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=lambda p: p.name)
def test_printed_output_shown_under_a_print_is_what_it_prints(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A page that shows the output of a ``print`` on the comment line under it shows the
    output the example prints today (a set-like list kept sorted, say)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for number, block in enumerate(_blocks(page), 1):
        if block.startswith(FRAGMENT):
            continue
        if not block.startswith(CONTINUED):
            namespace = {}
        capsys.readouterr()
        exec(compile(block, f"{page.name} (python block {number})", "exec"), namespace)
        printed = capsys.readouterr().out.splitlines()
        for shown in _SHOWN.findall(block):
            shows = any(line and shown.startswith(line) for line in printed)
            assert shows, f"{page.name} block {number}: {shown!r} not in {printed}"
