"""What promoting a file would change, property by property: the dry run's diff as data rather than text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .document import load
from .planning import selected_writes
from .promote import WHOLE_FILE
from .values import MISSING, as_json, same_value, value_at


@dataclass(frozen=True)
class PropertyChange:
    """One promoted property whose value the target does not hold yet.

    `property` is the normalized JSONPath of the value (`$['image']['tag']`), or `*` for a file promoted whole,
    whose values are then the files' text. `current` is None where the target has no value there.
    """

    property: str
    current: Any
    next: Any


def property_changes(
    source: bytes, target: bytes | None, json_paths: Sequence[str], *, file: str
) -> list[PropertyChange]:
    """The properties `promote_properties(source, target, json_paths)` would write, with the values before and
    after, in the order the template's paths select them. The same values are selected and compared as there
    (so none when it would return the target unchanged)."""
    if WHOLE_FILE in json_paths:
        if target == source:
            return []
        current = None if target is None else target.decode(errors="replace")
        return [PropertyChange(WHOLE_FILE, current, source.decode(errors="replace"))]
    target_data = load(target, file).data if target is not None else MISSING
    changes = []
    for write in selected_writes(load(source, file), json_paths, file):
        current = value_at(target_data, write.location)
        if not same_value(current, write.value):
            changes.append(
                PropertyChange(
                    write.path, None if current is MISSING else as_json(current), as_json(write.value)
                )
            )
    return changes
