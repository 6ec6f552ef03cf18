"""Promoting properties from the source environment's file into the target's text."""

from __future__ import annotations

from collections.abc import Sequence

from .document import load
from .errors import EditError
from .planning import Planner, apply_edits, selected_writes
from .values import same_value
from .verification import verify

WHOLE_FILE = "*"
"""The jsonPaths entry that promotes the whole file, byte for byte."""


def promote_properties(source: bytes, target: bytes | None, json_paths: Sequence[str], *, file: str) -> bytes:
    """Return the target file with the properties `json_paths` select copied from the source file.

    - `*` (alone or among other entries) promotes the whole source file verbatim, whatever its format.
    - Every node a path selects in the source is written at the same normalized location in the target:
      the whole subtree is replaced; missing mapping keys are created on the way (appended to their mapping);
      a list index the target lacks, or a scalar/list where the path needs a mapping, is an EditError.
    - Values already equal in the target are left as the target writes them.
    - A path that selects nothing in the source is skipped, as Codefresh does: the property is not in the
      source, so there is nothing to promote.
    - YAML anchors: a location the source reaches through an alias (`*a`) or merge key (`<<: *a`) is skipped,
      because the source writes it at the anchor, which the path selects too when it should travel. Writing
      inside an alias in the target is an EditError (it would change every place sharing the anchor); a
      target key inherited through `<<` is overridden with an explicit key.
    - A missing target (None) with `*` is the source; with property paths it starts as an empty document
      (b"" when nothing is selected).
    - Multi-document YAML files are an EditError.

    Everything in the target outside the written values stays byte-identical; when nothing changes the
    `target` object itself is returned, so callers detect "no change" by equality.
    """
    if isinstance(json_paths, str):
        raise TypeError("json_paths must be a sequence of JSONPath strings, not one string")
    if not json_paths:
        raise EditError(file, None, "no jsonPaths to promote")
    if WHOLE_FILE in json_paths:
        return target if target == source else source
    source_doc = load(source, file)
    target_doc = load(target if target is not None else b"", file)
    writes = selected_writes(source_doc, json_paths, file)
    if any(not write.location for write in writes):
        if target is not None and same_value(target_doc.data, source_doc.data):
            return target
        return source
    edits = Planner(source_doc, target_doc, file).edits(writes)
    if not edits:
        return target if target is not None else b""
    text = apply_edits(target_doc.text, edits, target_doc.eol)
    verify(text, writes, target_doc.is_json, file)
    result = text.encode("utf-8")
    return target if result == target else result
