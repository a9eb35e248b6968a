"""Names a package loads on first use, so that importing its policy data loads no engine.

A package assigns the result to its module-level ``__getattr__`` (PEP 562) and names the
same names under ``typing.TYPE_CHECKING`` for type checkers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names", "lazy_submodule_names"]


def lazy_names(package: str, names: Mapping[str, tuple[str, str | None]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each of ``names`` when first asked.

    ``names`` maps a public name to ``(module, attribute)``, ``attribute`` ``None`` for the
    module itself. The value is kept on the package, so it is imported once.
    The returned function raises ``AttributeError`` for any other name.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, attribute = names[name]
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


def lazy_submodule_names(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """:func:`lazy_names` for names kept under the same name in ``package``'s submodules.

    ``names`` maps a public name to the submodule holding it, e.g. ``{"IdeasAPI": "api"}``.
    """
    return lazy_names(package, {name: (f"{package}.{sub}", name) for name, sub in names.items()})
