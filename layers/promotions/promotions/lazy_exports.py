"""A package's names imported from their modules when first asked for, not with the package (PEP 562).

A package that re-exports its modules' names would otherwise import every one of them with its first module:
a handler's cold start would pay for all of `promotions.config` to read one exception. Each such package lists
its names under TYPE_CHECKING too, for type checkers, and in __all__.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(package: str, modules: Mapping[str, tuple[str, ...]]) -> Callable[[str], object]:
    """The module `__getattr__` of `package`, which finds each name of `modules` (module name: the names it
    defines) in its module, imported then, and keeps it on the package."""
    module_of = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_of[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
