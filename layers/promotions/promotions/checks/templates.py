"""`${NAME}` substitution from a check's variables.

Only `${NAME}` is a placeholder, so request bodies may carry `$` freely (JSONPath, shell, prices); `$${NAME}`
writes a literal `${NAME}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


class UndefinedVariable(KeyError):
    def __str__(self) -> str:
        return f"${{{self.args[0]}}} is not a variable of this promotion"


def render(template: str, variables: Mapping[str, str], escape: Callable[[str], str] = str) -> str:
    """Raises UndefinedVariable for a placeholder no variable fills; `escape` fits values to where they go."""

    def substitute(match: re.Match[str]) -> str:
        escaped, name = match.groups()
        if escaped:
            return f"${{{name}}}"
        if name not in variables:
            raise UndefinedVariable(name)
        return escape(variables[name])

    return _PLACEHOLDER.sub(substitute, template)


def render_values(value: Any, variables: Mapping[str, str]) -> Any:
    """Every string inside a JSON-like value rendered; keys and other scalars kept as they are."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, Mapping):
        return {key: render_values(item, variables) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render_values(item, variables) for item in value]
    return value
