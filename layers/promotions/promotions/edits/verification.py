"""Verification: the edited document, read back, must parse and hold every promoted value where it was
written."""

from __future__ import annotations

import json
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .document import parse
from .errors import EditError
from .values import same_value, value_at
from .writes import Write


def verify(text: str, writes: list[Write], is_json: bool, file: str) -> None:
    """Read the edited document back: it must parse and hold every promoted value where it was written. This
    guards the target repository against a splice that went wrong; it is not expected to fail."""
    try:
        data = json.loads(text) if is_json else _read_back(text)
    except (ValueError, YAMLError) as exc:
        raise EditError(
            file, None, f"internal error: the edited file does not parse ({exc}); not written"
        ) from None
    for write in writes:
        if not same_value(value_at(data, write.location), write.value):
            raise EditError(
                file,
                write.json_path,
                f"internal error: {write.path} does not read back as the "
                "promoted value after the edit; not written",
            )


def _read_back(text: str) -> Any:
    # The C loader is several times faster than the round-trip one; the round-trip loader, which read the
    # target in the first place, has the last word should libyaml reject something it accepts.
    try:
        return YAML(typ="safe").load(text)
    except YAMLError:
        return parse(text, False).data
