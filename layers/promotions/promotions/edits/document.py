"""The document model: one file parsed once with ruamel.yaml's round-trip loader, which yields both the
constructed values (what the JSONPaths query) and the node tree with the character position of every node,
and the places where a value's text sits in it."""

from __future__ import annotations

import functools
import io
import json
import re
from dataclasses import dataclass
from typing import Any, overload

from jsonpath_rfc9535 import JSONPathError, JSONPathNode, JSONPathQuery
from jsonpath_rfc9535 import compile as compile_json_path
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from .errors import EditError

BLOCK_SCALAR_STYLES = ("|", ">")
_BLANKS = re.compile(r"(?:[ \t]+|#[^\n]*|\r?\n)*")
_MISSING_DOT = re.compile(r"\$[A-Za-z_]")

Location = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed file: its text, node tree (positions) and constructed values (what JSONPath queries)."""

    text: str
    root: Node | None
    data: Any
    is_json: bool
    eol: str


def load(raw: bytes, file: str) -> Document:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EditError(file, None, f"is not UTF-8 text (byte {exc.start})") from None
    is_json = file.lower().endswith(".json")
    try:
        return parse(text, is_json)
    except json.JSONDecodeError as exc:
        raise EditError(
            file, None, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except YAMLError as exc:
        kind = "valid JSON" if is_json else "a single valid YAML document"
        raise EditError(file, None, f"is not {kind}: {_describe_yaml_error(exc)}") from None


@functools.lru_cache(maxsize=64)
def parse(text: str, is_json: bool) -> Document:
    # Cached because one source file is promoted into every environment's target: parse it once. The cached
    # documents are shared between threads and must never be mutated.
    if is_json and text.strip():
        json.loads(text)  # YAML reads more than JSON (comments, empty values): hold JSON files to JSON
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    constructor, parser = yaml.get_constructor_parser(io.StringIO(text))
    try:
        root = constructor.composer.get_single_node()
        data = constructor.construct_document(root) if root is not None else None
    finally:
        parser.dispose()
    return Document(text, root, data, is_json, "\r\n" if "\r\n" in text else "\n")


def _describe_yaml_error(exc: YAMLError) -> str:
    if not isinstance(exc, MarkedYAMLError):
        return str(exc).splitlines()[0]
    what = "; ".join(part for part in (exc.context, exc.problem) if part)
    mark = exc.problem_mark or exc.context_mark
    return f"{what} (line {mark.line + 1}, column {mark.column + 1})" if mark else what


@functools.lru_cache(maxsize=256)
def _compile(json_path: str) -> JSONPathQuery:
    return compile_json_path(json_path)


def query(doc: Document, json_path: str, file: str) -> list[JSONPathNode]:
    try:
        return _compile(json_path).find(doc.data)
    except JSONPathError as exc:
        # Codefresh's own docs write `$appVersion`; RFC 9535 needs `$.appVersion`.
        hint = f" (did you mean $.{json_path[1:]}?)" if _MISSING_DOT.match(json_path) else ""
        raise EditError(file, json_path, f"invalid JSONPath: {exc}{hint}") from None


@dataclass(frozen=True, slots=True)
class Place:
    """One occurrence of a value in a document.

    `start` is where this occurrence's text begins; for an alias (`*a`) the node is the anchor's, so its
    positions are elsewhere and `alias_end` marks the end of the `*a` token instead.
    """

    node: Node
    value: Any
    parent: Node | None
    key_node: Node | None
    start: int
    alias_end: int | None

    @property
    def is_alias(self) -> bool:
        return self.alias_end is not None


def walk(doc: Document, location: Location) -> list[Place]:
    """The places from the root down `location`, stopping before the first step the text does not write
    (a missing key, a key inherited through `<<`, an index out of range)."""
    if doc.root is None:
        return []
    place = Place(doc.root, doc.data, None, None, doc.root.start_mark.index, None)
    places = [place]
    for step in location:
        child = _child(doc, place, step)
        if child is None:
            break
        places.append(child)
        place = child
    return places


def _child(doc: Document, place: Place, step: str | int) -> Place | None:
    node, value = place.node, place.value
    if isinstance(node, MappingNode) and isinstance(value, CommentedMap):
        position = (value.lc.data or {}).get(step)  # keys written in this mapping, not inherited, have one
        if position is None:
            return None
        for key_node, value_node in node.value:
            if (key_node.start_mark.line, key_node.start_mark.column) == (position[0], position[1]):
                if value_node.start_mark.index >= key_node.end_mark.index:
                    return Place(value_node, value[step], node, key_node, value_node.start_mark.index, None)
                return Place(
                    value_node,
                    value[step],
                    node,
                    key_node,
                    *_alias_token(doc.text, key_node.end_mark.index, value_node),
                )
        return None
    if isinstance(node, SequenceNode) and isinstance(value, list) and isinstance(step, int):
        if not 0 <= step < len(node.value):
            return None
        # An alias item's node lies before the alias token; the token comes after the previous item.
        cursor = node.start_mark.index
        for index, item in enumerate(node.value[: step + 1]):
            end: int | None
            if item.start_mark.index >= cursor:
                start, end = item.start_mark.index, None
                cursor = item.end_mark.index
            else:
                start, end = _alias_token(doc.text, cursor, item)
                cursor = end
            if index == step:
                return Place(item, value[step], node, None, start, end)
    return None


def _alias_token(text: str, search_from: int, anchored: Node) -> tuple[int, int]:
    match = alias_pattern(anchored.anchor).search(text, search_from)
    assert match is not None, "an alias node comes from an alias token after `search_from`"
    return match.start(), match.end()


def alias_pattern(anchor: str) -> re.Pattern[str]:
    return re.compile(r"\*" + re.escape(anchor) + r"(?![^\s,\[\]{}])")


def anchors_defined(node: Node, start: int, end: int) -> set[str]:
    """Anchors whose definitions lie within text[start:end] under `node` (aliases in it point elsewhere)."""
    found: set[str] = set()
    seen: set[int] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if id(current) in seen or not start <= current.start_mark.index < end:
            continue
        seen.add(id(current))
        if current.anchor and current is not node:
            found.add(current.anchor)
        if isinstance(current, MappingNode):
            pending.extend(child for pair in current.value for child in pair)
        elif isinstance(current, SequenceNode):
            pending.extend(current.value)
    return found


@overload
def content_end(text: str, node: CollectionNode) -> int: ...
@overload
def content_end(text: str, node: Node) -> int | None: ...
def content_end(text: str, node: Node) -> int | None:
    """Where `node`'s own text ends, leaving out the blank lines and comments that follow it (they belong to
    what comes next); None for an empty (implicit null) scalar, which has no text."""
    if isinstance(node, ScalarNode):
        if node.start_mark.index == node.end_mark.index:
            return None
        if node.style in BLOCK_SCALAR_STYLES:
            return trimmed_end(text, node.start_mark.index, node.end_mark.index)
        return node.end_mark.index
    if isinstance(node, CollectionNode) and node.flow_style:
        return node.end_mark.index
    end = node.end_mark.index
    while True:
        end = trimmed_end(text, node.start_mark.index, end)
        line_start = text.rfind("\n", 0, end) + 1
        if line_start <= node.start_mark.index or not text[line_start:end].lstrip().startswith("#"):
            break
        end = line_start
    # A trailing block scalar may hold lines starting with '#' that are content, not comments.
    last = node.value[-1][1] if isinstance(node, MappingNode) and node.value else None
    if isinstance(node, SequenceNode) and node.value:
        last = node.value[-1]
    if last is not None and node.start_mark.index <= last.start_mark.index < node.end_mark.index:
        end = max(end, content_end(text, last) or end)
    return end


def json_value_end(node: Node) -> int:
    """Where a JSON value's text ends: JSON has no empty values and no comments, so where its node does."""
    return node.end_mark.index


def past_blanks(text: str, start: int) -> int:
    """Where the text from `start` goes on after blanks, line breaks and comments."""
    blanks = _BLANKS.match(text, start)
    return blanks.end() if blanks else start


def trimmed_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    return end


def column_of(text: str, index: int) -> int:
    line_start = text.rfind("\n", 0, index) + 1
    if line_start == 0 and text.startswith("\ufeff"):
        line_start = 1
    return index - line_start


def after_anchor(text: str, place: Place) -> int:
    anchor = None if place.is_alias else place.node.anchor
    if anchor and text.startswith("&" + anchor, place.start):
        return place.start + 1 + len(anchor)
    return place.start
