"""Reading the release version from a file, as written."""

from __future__ import annotations

from .document import load, query, walk
from .errors import EditError
from .values import kind_of


def read_version(document: bytes, json_path: str, *, file: str) -> str:
    """Return the release version: the single scalar `json_path` selects in `document`, as written.

    Strings come back as their value; numbers, booleans and dates as their source text (`1.10` stays `1.10`).
    Raises EditError when the document does not parse, the path is invalid, or it selects nothing, several
    values, a mapping or list, null or an empty string.
    """
    doc = load(document, file)
    matches = query(doc, json_path, file)
    if not matches:
        raise EditError(file, json_path, "selects nothing, so there is no version to read")
    if len(matches) > 1:
        found = ", ".join(match.path() for match in matches)
        raise EditError(
            file, json_path, f"selects {len(matches)} values ({found}); a version is a single value"
        )
    match = matches[0]
    value = match.value
    if isinstance(value, (dict, list)):
        raise EditError(file, json_path, f"selects a {kind_of(value)}, not a scalar version")
    if value is None or value == "":
        raise EditError(file, json_path, f"selects {kind_of(value)}, not a version")
    if isinstance(value, str):
        return str(value)
    places = walk(doc, match.location)
    if len(places) <= len(match.location):
        raise EditError(
            file,
            json_path,
            f"{match.path()} is inherited through a YAML merge key (<<); "
            "read the version where it is written",
        )
    return places[-1].node.value
