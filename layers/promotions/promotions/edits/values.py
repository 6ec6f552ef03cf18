"""Values compared and named as data, whatever their YAML spelling."""

from __future__ import annotations

import datetime
import math
from typing import Any

from jsonpath_rfc9535.serialize import canonical_string
from ruamel.yaml.scalarbool import ScalarBoolean

from .document import Location


def same_value(left: Any, right: Any) -> bool:
    """Equal as data: same structure and scalar types (1, 1.0 and true differ); comments, layout ignored."""
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(same_value(left[key], right[key]) for key in left)
        )
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(map(same_value, left, right))
    if _scalar_kind(left) != _scalar_kind(right):
        return False
    # Both are of one kind by now, and NaN equals NaN here.
    return left == right or (isinstance(left, float) and math.isnan(left) and math.isnan(right))


MISSING: Any = object()
"""What `value_at` finds where a document has no value (null is a value)."""


def value_at(data: Any, location: Location) -> Any:
    """The value at `location` in constructed data (keys inherited through `<<` included), or MISSING."""
    value = data
    try:
        for step in location:
            value = value[step]
    except (KeyError, IndexError, TypeError):
        return MISSING
    return value


def as_json(value: Any) -> Any:
    """A constructed YAML value as plain JSON data: ruamel's scalar kinds as JSON's, dates and anything JSON has
    no kind for (a non-finite float, a tagged scalar) as their text."""
    if isinstance(value, dict):
        return {str(key): as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if value is None:
        return None
    if isinstance(value, (bool, ScalarBoolean)):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _scalar_kind(value: Any) -> str:
    if isinstance(value, (bool, ScalarBoolean)):
        return "bool"
    for kind in (int, float, str, datetime.datetime, datetime.date, bytes):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if value == "":
        return "an empty string"
    return f"the {_scalar_kind(value)} {value!r}"


def normalized_path(location: Location) -> str:
    return "$" + "".join(
        f"[{canonical_string(step)}]" if isinstance(step, str) else f"[{step}]" for step in location
    )
