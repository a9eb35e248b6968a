"""Keep a Markdown page's published policy tables in step with the presets.

A page marks where a preset's tables go::

    <!-- policy: giffgaff -->
    <!-- end policy -->

:func:`publish` fills every marked block with the preset's
:meth:`~kudos.Policy.describe` Markdown. Run ``python -m kudos.explain.publish
docs/policies.md`` to rewrite a page; the test suite fails when the page and
the presets disagree.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidPolicy

__all__ = ["main", "publish"]

_BLOCK = re.compile(r"(<!-- policy: ([\w-]+) -->\n)(.*?)(<!-- end policy -->)", re.DOTALL)


def publish(page: str) -> str:
    """``page`` with every ``<!-- policy: NAME -->`` block holding preset NAME's tables.

    Raises:
        InvalidPolicy: a block names no preset.
    """
    from .. import policies

    presets = {"giffgaff": policies.giffgaff, "stackexchange": policies.stackexchange}

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in presets:
            raise InvalidPolicy(f"no preset {name!r}; presets: {', '.join(presets)}")
        body = presets[name]().describe().markdown(level=4, heading=False)
        return f"{match.group(1)}\n### `{name}()` in full\n\n{body}\n{match.group(4)}"

    return _BLOCK.sub(fill, page)


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite each Markdown file named in ``argv``; returns 0 (1 when none is named)."""
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m kudos.explain.publish PAGE.md ...", file=sys.stderr)
        return 1
    for path in paths:
        page = Path(path)
        text = page.read_text(encoding="utf-8")
        fresh = publish(text)
        if fresh != text:
            page.write_text(fresh, encoding="utf-8")
            print(f"{path}: the policy tables were rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
