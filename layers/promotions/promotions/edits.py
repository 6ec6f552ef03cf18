"""Promote properties from one environment's file into another's, changing nothing else in the target.

A PromotionTemplate names, per file, the JSONPaths (RFC 9535) whose values travel from the source environment
to the target environment, and where the release version is read. Both documents are parsed once with
ruamel.yaml's round-trip loader, which yields the constructed values (what the JSONPaths query) and the node
tree with the character position of every node. Each promoted value is then spliced into the target *text*:
only the characters of a replaced value, or of an inserted key, change. Re-serialising the whole document
could not promise that: it re-indents, re-wraps and re-spaces everything it does not understand exactly.

Promoted values are copied as the source writes them (comments, quoting and block style included), shifted to
the target's indentation. JSON files (`.json`) get JSON rendered with the target's indentation instead.
"""

from __future__ import annotations

import datetime
import functools
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from jsonpath_rfc9535 import JSONPathError, JSONPathNode, JSONPathQuery
from jsonpath_rfc9535 import compile as compile_json_path
from jsonpath_rfc9535.serialize import canonical_string
from ruamel.yaml import YAML
from ruamel.yaml.comments import merge_attrib
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarstring import ScalarString

WHOLE_FILE = "*"
"""The jsonPaths entry that promotes the whole file, byte for byte."""

_BLOCK_SCALAR_STYLES = ("|", ">")
_QUOTE_STYLES = ("'", '"')
_NO_WRAP = 1 << 16
_DEFAULT_INDENT = 2
_SKIP_BLANKS = re.compile(r"(?:[ \t]+|#[^\n]*|\r?\n)*")
_JSON_INDENT = re.compile(r"\n([ \t]+)\S")
_TRAILING_COMMENT = re.compile(r"[ \t]+#[^\r\n]*")
_MISSING_DOT = re.compile(r"\$[A-Za-z_]")

Location = tuple[str | int, ...]


class EditError(ValueError):
    """A file that cannot be read or edited as asked: names the file, the faulty JSONPath (if any), why."""

    def __init__(self, file: str, json_path: str | None, message: str) -> None:
        super().__init__(file, json_path, message)
        self.file = file
        self.json_path = json_path
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}: {self.json_path}" if self.json_path is not None else self.file
        return f"{where}: {self.message}"


def read_version(document: bytes, json_path: str, *, file: str) -> str:
    """Return the release version: the single scalar `json_path` selects in `document`, as written.

    Strings come back as their value; numbers, booleans and dates as their source text (`1.10` stays `1.10`).
    Raises EditError when the document does not parse, the path is invalid, or it selects nothing, several
    values, a mapping or list, null or an empty string.
    """
    doc = _load(document, file)
    matches = _query(doc, json_path, file)
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
        raise EditError(file, json_path, f"selects a {_kind(value)}, not a scalar version")
    if value is None or value == "":
        raise EditError(file, json_path, f"selects {_kind(value)}, not a version")
    if isinstance(value, str):
        return str(value)
    places = _walk(doc, match.location)
    if len(places) <= len(match.location):
        raise EditError(
            file,
            json_path,
            f"{match.path()} is inherited through a YAML merge key (<<); "
            "read the version where it is written",
        )
    return places[-1].node.value


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
    source_doc = _load(source, file)
    target_doc = _load(target if target is not None else b"", file)
    writes = _selected_writes(source_doc, json_paths, file)
    if any(not write.location for write in writes):
        if target is not None and _same_value(target_doc.data, source_doc.data):
            return target
        return source
    edits = _Planner(source_doc, target_doc, file).edits(writes)
    if not edits:
        return target if target is not None else b""
    text = _apply(target_doc.text, edits, target_doc.eol)
    _verify(text, writes, target_doc.is_json, file)
    result = text.encode("utf-8")
    return target if result == target else result


# --- parsing -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Document:
    """One parsed file: its text, node tree (positions) and constructed values (what JSONPath queries)."""

    text: str
    root: Node | None
    data: Any
    is_json: bool
    eol: str


def _load(raw: bytes, file: str) -> _Document:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EditError(file, None, f"is not UTF-8 text (byte {exc.start})") from None
    is_json = file.lower().endswith(".json")
    try:
        return _parse(text, is_json)
    except json.JSONDecodeError as exc:
        raise EditError(
            file, None, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except YAMLError as exc:
        kind = "valid JSON" if is_json else "a single valid YAML document"
        raise EditError(file, None, f"is not {kind}: {_describe_yaml_error(exc)}") from None


@functools.lru_cache(maxsize=64)
def _parse(text: str, is_json: bool) -> _Document:
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
    return _Document(text, root, data, is_json, "\r\n" if "\r\n" in text else "\n")


def _describe_yaml_error(exc: YAMLError) -> str:
    if not isinstance(exc, MarkedYAMLError):
        return str(exc).splitlines()[0]
    what = "; ".join(part for part in (exc.context, exc.problem) if part)
    mark = exc.problem_mark or exc.context_mark
    return f"{what} (line {mark.line + 1}, column {mark.column + 1})" if mark else what


@functools.lru_cache(maxsize=256)
def _compile(json_path: str) -> JSONPathQuery:
    return compile_json_path(json_path)


def _query(doc: _Document, json_path: str, file: str) -> list[JSONPathNode]:
    try:
        return _compile(json_path).find(doc.data)
    except JSONPathError as exc:
        # Codefresh's own docs write `$appVersion`; RFC 9535 needs `$.appVersion`.
        hint = f" (did you mean $.{json_path[1:]}?)" if _MISSING_DOT.match(json_path) else ""
        raise EditError(file, json_path, f"invalid JSONPath: {exc}{hint}") from None


# --- where values sit --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Place:
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


def _walk(doc: _Document, location: Location) -> list[_Place]:
    """The places from the root down `location`, stopping before the first step the text does not write
    (a missing key, a key inherited through `<<`, an index out of range)."""
    if doc.root is None:
        return []
    place = _Place(doc.root, doc.data, None, None, doc.root.start_mark.index, None)
    places = [place]
    for step in location:
        child = _child(doc, place, step)
        if child is None:
            break
        places.append(child)
        place = child
    return places


def _child(doc: _Document, place: _Place, step: str | int) -> _Place | None:
    node, value = place.node, place.value
    if isinstance(node, MappingNode) and isinstance(value, dict):
        position = (value.lc.data or {}).get(step)  # keys written in this mapping, not inherited, have one
        if position is None:
            return None
        for key_node, value_node in node.value:
            if (key_node.start_mark.line, key_node.start_mark.column) == (position[0], position[1]):
                if value_node.start_mark.index >= key_node.end_mark.index:
                    return _Place(value_node, value[step], node, key_node, value_node.start_mark.index, None)
                start, end = _alias_token(doc.text, key_node.end_mark.index, value_node)
                return _Place(value_node, value[step], node, key_node, start, end)
        return None
    if isinstance(node, SequenceNode) and isinstance(value, list) and isinstance(step, int):
        if not 0 <= step < len(node.value):
            return None
        # An alias item's node lies before the alias token; the token comes after the previous item.
        cursor = node.start_mark.index
        for index, item in enumerate(node.value[: step + 1]):
            if item.start_mark.index >= cursor:
                start, end = item.start_mark.index, None
                cursor = item.end_mark.index
            else:
                start, end = _alias_token(doc.text, cursor, item)
                cursor = end
            if index == step:
                return _Place(item, value[step], node, None, start, end)
    return None


def _alias_token(text: str, search_from: int, anchored: Node) -> tuple[int, int]:
    match = _alias_pattern(anchored.anchor).search(text, search_from)
    return match.start(), match.end()


def _alias_pattern(anchor: str) -> re.Pattern[str]:
    return re.compile(r"\*" + re.escape(anchor) + r"(?![^\s,\[\]{}])")


def _anchors_defined(node: Node, start: int, end: int) -> set[str]:
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


def _content_end(text: str, node: Node) -> int | None:
    """Where `node`'s own text ends, leaving out the blank lines and comments that follow it (they belong to
    what comes next); None for an empty (implicit null) scalar, which has no text."""
    if isinstance(node, ScalarNode):
        if node.start_mark.index == node.end_mark.index:
            return None
        if node.style in _BLOCK_SCALAR_STYLES:
            return _rstrip(text, node.start_mark.index, node.end_mark.index)
        return node.end_mark.index
    if node.flow_style:
        return node.end_mark.index
    end = node.end_mark.index
    while True:
        end = _rstrip(text, node.start_mark.index, end)
        line_start = text.rfind("\n", 0, end) + 1
        if line_start <= node.start_mark.index or not text[line_start:end].lstrip().startswith("#"):
            break
        end = line_start
    # A trailing block scalar may hold lines starting with '#' that are content, not comments.
    last = node.value[-1][1] if isinstance(node, MappingNode) and node.value else None
    if isinstance(node, SequenceNode) and node.value:
        last = node.value[-1]
    if last is not None and node.start_mark.index <= last.start_mark.index < node.end_mark.index:
        end = max(end, _content_end(text, last) or end)
    return end


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    return end


def _column(text: str, index: int) -> int:
    line_start = text.rfind("\n", 0, index) + 1
    if line_start == 0 and text.startswith("\ufeff"):
        line_start = 1
    return index - line_start


def _after_anchor(text: str, place: _Place) -> int:
    anchor = None if place.is_alias else place.node.anchor
    if anchor and text.startswith("&" + anchor, place.start):
        return place.start + 1 + len(anchor)
    return place.start


# --- YAML rendering ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A YAML value ready to hang from a key or dash.

    `first` goes right after the indicator (inline values) or on the next line (block collections, whose
    first line is indented `first_indent` past the parent); `rest` are the following lines, indented relative
    to the parent's column.
    """

    first: str
    rest: tuple[str, ...]
    block: bool = False
    first_indent: int = 0
    sequence: bool = False

    @property
    def spans_block_lines(self) -> bool:
        """A block collection, or a block scalar (`|`, `>`), running over several lines."""
        return bool(self.rest) and (self.block or self.first[:1] in _BLOCK_SCALAR_STYLES)


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where a target value sits and how it hangs from its parent.

    `lead` is the position right after the parent's `key:` or `-` (or the value's own anchor), None at the
    root; the current value's text runs from `value` to `end` and starts at column `node_col` of the line
    beginning at `line_start`.
    """

    lead: int | None
    value: int
    end: int
    line_start: int
    parent_col: int
    node_col: int
    in_seq: bool
    flow: bool
    same_line: bool  # the value starts on the line of `lead`
    commented: bool  # a comment sits between `lead` and the value

    @classmethod
    def new_key(cls, column: int) -> _Slot:
        """The slot after `key:` of a key being created at `column`."""
        return cls(
            lead=0, value=0, end=0, line_start=0, parent_col=column, node_col=column,
            in_seq=False, flow=False, same_line=True, commented=False,
        )  # fmt: skip


def _slot(doc: _Document, place: _Place) -> _Slot:
    text, node, parent = doc.text, place.node, place.parent
    end = place.alias_end if place.is_alias else _content_end(text, node)
    if parent is None:
        lead, parent_col = None, -1  # the root hangs from nothing: it may start at column 0
    elif isinstance(parent, MappingNode):
        lead = _colon_end(text, place.key_node.end_mark.index)
        parent_col = _column(text, place.key_node.start_mark.index)
    else:
        lead = _dash_end(text, place.start)
        parent_col = _column(text, lead - 1) if lead is not None else max(_column(text, place.start) - 2, 0)
    anchor_end = _after_anchor(text, place)
    if anchor_end != place.start:
        lead = anchor_end
    if end is None:  # an empty value: `key:` with nothing after it
        value = end = lead if lead is not None else place.start
    else:
        value = _SKIP_BLANKS.match(text, anchor_end).end() if anchor_end != place.start else place.start
    gap = text[lead:value] if lead is not None else "\n"
    line_start = text.rfind("\n", 0, value) + 1
    return _Slot(
        lead=lead,
        value=value,
        end=end,
        line_start=line_start,
        parent_col=parent_col,
        node_col=_column(text, value),
        in_seq=isinstance(parent, SequenceNode),
        flow=bool(parent is not None and parent.flow_style),
        same_line="\n" not in gap,
        commented="#" in gap,
    )


def _colon_end(text: str, key_end: int) -> int | None:
    index = key_end
    while index < len(text) and text[index] in " \t":
        index += 1
    return index + 1 if text.startswith(":", index) else None


def _dash_end(text: str, value_start: int) -> int | None:
    index = value_start - 1
    while index >= 0 and text[index] in " \t\r\n":
        index -= 1
    return index + 1 if index >= 0 and text[index] == "-" else None


def _place(rendered: _Rendered, slot: _Slot) -> tuple[int, str]:
    """Where the text putting `rendered` into `slot` starts, and that text (newlines as "\\n")."""
    if rendered.block:
        if slot.same_line and slot.lead is not None:
            start = slot.lead
            if slot.in_seq:
                first_col, separator = slot.parent_col + 2, " "
            else:
                first_col = slot.parent_col + rendered.first_indent
                separator = "\n" + " " * first_col
        else:  # the old value began a line of its own: keep its column unless the new value cannot sit there
            start = slot.line_start
            fits = slot.node_col > slot.parent_col or (
                rendered.sequence and not slot.in_seq and slot.node_col == slot.parent_col
            )
            first_col = (
                slot.node_col if fits else slot.parent_col + (2 if slot.in_seq else rendered.first_indent)
            )
            separator = " " * first_col
        shift = first_col - rendered.first_indent
    else:
        shift = slot.parent_col
        if slot.same_line and slot.value != slot.lead:
            start, separator = slot.value, ""
        elif slot.lead is not None and not slot.commented:
            start, separator = slot.lead, " " if rendered.first else ""
        else:
            start, separator = slot.value, ""
    return start, separator + rendered.first + "".join("\n" + _shift(line, shift) for line in rendered.rest)


def _shift(line: str, columns: int) -> str:
    if not line or columns == 0:
        return line
    if columns > 0:
        return " " * columns + line
    indent = len(line) - len(line.lstrip(" "))
    return line[min(indent, -columns) :]


def _copied(doc: _Document, place: _Place) -> _Rendered | None:
    """The source's own text of the value at `place`, or None when it cannot travel as text: it is an alias or
    holds anchors, aliases or merge keys, which would dangle or clash in the target."""
    if place.is_alias or _holds_anchors(place.value):
        return None
    text, node = doc.text, place.node
    start = _SKIP_BLANKS.match(text, _after_anchor(text, place)).end()
    end = _content_end(text, node)
    if end is None:
        return _Rendered("", ())
    if isinstance(place.parent, MappingNode):
        parent_col = _column(text, place.key_node.start_mark.index)
    elif isinstance(place.parent, SequenceNode):
        dash = _dash_end(text, start)
        parent_col = (
            _column(text, dash - 1) if dash is not None else _column(text, place.parent.start_mark.index)
        )
    else:
        parent_col = 0
    lines = [line.removesuffix("\r") for line in text[start:end].split("\n")]
    block = isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style
    return _Rendered(
        lines[0],
        tuple(_shift(line, -parent_col) for line in lines[1:]),
        block,
        _column(text, start) - parent_col,
        block and isinstance(node, SequenceNode),
    )


def _holds_anchors(value: Any) -> bool:
    if isinstance(value, dict):
        if getattr(value, merge_attrib, None):
            return True
        return any(_anchored(child) or _holds_anchors(child) for child in value.values())
    if isinstance(value, list):
        return any(_anchored(child) or _holds_anchors(child) for child in value)
    return False


def _anchored(value: Any) -> bool:
    anchor = getattr(value, "yaml_anchor", None)
    return anchor is not None and anchor() is not None


def _dumped(value: Any, indent: int, *, flow: bool) -> _Rendered:
    """`value` rendered by ruamel.yaml: the fallback for values that cannot be copied as text, and for block
    values that must go into a flow collection. Aliases are expanded, so nothing refers outside the value."""
    yaml = YAML(typ="rt")
    yaml.width = _NO_WRAP
    yaml.indent(mapping=indent, sequence=indent, offset=max(indent - 2, 0))
    yaml.default_flow_style = flow
    yaml.brace_single_entry_mapping_in_flow_sequence = True
    buffer = io.StringIO()
    yaml.dump({"x": _detached(value, flow=flow)}, buffer)
    dumped = buffer.getvalue()
    if flow:
        return _Rendered(dumped.removeprefix("{x: ").rstrip().removesuffix("}"), ())
    tail = dumped.removeprefix("x:").removesuffix("\n")
    if tail.startswith("\n"):
        lines = tail[1:].split("\n")
        first = lines[0].lstrip(" ")
        return _Rendered(first, tuple(lines[1:]), True, len(lines[0]) - len(first), first.startswith("- "))
    lines = tail.removeprefix(" ").split("\n")
    return _Rendered(lines[0], tuple(lines[1:]))


def _detached(value: Any, *, flow: bool) -> Any:
    """A copy of `value` without anchors, merge keys or comments; block strings become plain in flow style."""
    if isinstance(value, dict):
        return {key: _detached(child, flow=flow) for key, child in value.items()}
    if isinstance(value, list):
        return [_detached(child, flow=flow) for child in value]
    if _anchored(value) or (flow and isinstance(value, ScalarString)):
        for base in (bool, int, float, str):
            if isinstance(value, base) or (base is bool and isinstance(value, ScalarBoolean)):
                return base(value)
    return value


def _requoted(value: Any, target: _Place) -> _Rendered | None:
    """A single-line string promoted over a quoted string keeps the target's quotes."""
    style = None if target.is_alias else getattr(target.node, "style", None)
    if style not in _QUOTE_STYLES or not isinstance(target.value, str):
        return None
    if not isinstance(value, str) or not value.isprintable():
        return None
    if style == "'":
        return _Rendered("'" + value.replace("'", "''") + "'", ())
    return _Rendered(json.dumps(str(value), ensure_ascii=False), ())


def _yaml_indent(doc: _Document) -> int | None:
    """The document's mapping indentation: how far a nested block mapping sits past its parent key."""
    pending = [doc.root] if isinstance(doc.root, MappingNode) else []
    while pending:
        mapping = pending.pop()
        for key_node, value_node in mapping.value:
            if isinstance(value_node, MappingNode) and not value_node.flow_style and value_node.value:
                child_key = value_node.value[0][0]
                if child_key.start_mark.index > key_node.end_mark.index:
                    return _column(doc.text, child_key.start_mark.index) - _column(
                        doc.text, key_node.start_mark.index
                    )
                pending.append(value_node)
    return None


# --- planning the edits ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Write:
    """One value to promote: where it sits in the source, and the template path that selected it."""

    json_path: str
    location: Location
    source: tuple[_Place, ...]

    @property
    def path(self) -> str:
        return _normalized(self.location)

    @property
    def value(self) -> Any:
        return self.source[-1].value


class _NewKeys(dict):
    """Keys to create under one target mapping: step -> (key text from the source, _Write | _NewKeys)."""


@dataclass(frozen=True, slots=True)
class _Edit:
    start: int
    end: int
    order: tuple[int, int]
    text: str


def _selected_writes(doc: _Document, json_paths: Sequence[str], file: str) -> list[_Write]:
    """The source values to promote, one per location (a location inside another selected one goes too)."""
    found: dict[Location, _Write] = {}
    for json_path in json_paths:
        for match in _query(doc, json_path, file):
            location = tuple(match.location)
            places = _walk(doc, location)
            reached_through_anchor = len(places) <= len(location) or any(p.is_alias for p in places[1:-1])
            if location not in found and not reached_through_anchor:
                found[location] = _Write(json_path, location, tuple(places))
    return [
        write
        for location, write in found.items()
        if not any(location[:depth] in found for depth in range(len(location)))
    ]


class _Planner:
    """Turns the writes into text edits of the target document."""

    def __init__(self, source: _Document, target: _Document, file: str) -> None:
        self.source = source
        self.target = target
        self.file = file

    def edits(self, writes: list[_Write]) -> list[_Edit]:
        edits: list[_Edit] = []
        additions: dict[int, tuple[_Place | None, int, _NewKeys]] = {}
        for write in writes:
            places = _walk(self.target, write.location)
            if any(place.is_alias for place in places[1 : len(write.location)]):
                self._fail(
                    write,
                    "is reached through an alias (*) in the target; writing there would change "
                    "every place that shares the anchor",
                )
            if len(places) == len(write.location) + 1:
                if not _same_value(places[-1].value, write.value):
                    edits.append(self._replace(places[-1], write))
                continue
            # The deepest value on the way that the target has (None: the target is an empty document).
            container = places[-1] if places else None
            depth = max(len(places) - 1, 0)
            self._check_creatable(write, container, depth)
            step = write.location[depth]
            if container is not None and isinstance(container.value, dict) and step in container.value:
                # The target inherits this key through a merge key (<<): override it with an explicit key.
                if depth + 1 < len(write.location):
                    self._fail(
                        write,
                        f"{_normalized(write.location[: depth + 1])} is inherited through a YAML "
                        "merge key (<<) in the target; only the whole value can be overridden",
                    )
                if _same_value(container.value[step], write.value):
                    continue
            key = id(container.node) if container is not None else 0
            _, _, tree = additions.setdefault(key, (container, depth, _NewKeys()))
            self._add(tree, write, depth)
        edits.extend(self._addition(container, depth, tree) for container, depth, tree in additions.values())
        return edits

    def _fail(self, write: _Write, message: str) -> NoReturn:
        raise EditError(self.file, write.json_path, f"{write.path}: {message}")

    def _check_creatable(self, write: _Write, container: _Place | None, depth: int) -> None:
        step = write.location[depth]
        value = container.value if container is not None else None
        if isinstance(value, list):
            if isinstance(step, int):
                self._fail(
                    write,
                    f"the target list {_normalized(write.location[:depth])} has no item {step} "
                    f"(it has {len(value)}); list items are not created",
                )
            self._fail(
                write,
                f"the target has a list at {_normalized(write.location[:depth])} where the source "
                "has a mapping",
            )
        if value is not None and not isinstance(value, dict):
            self._fail(
                write,
                f"the target has {_kind(value)} at {_normalized(write.location[:depth])} where the "
                "source has a mapping",
            )
        for index in range(depth, len(write.location)):
            if not isinstance(write.source[index].value, dict):
                self._fail(
                    write,
                    f"the target has no list at {_normalized(write.location[: index + 1])}; "
                    "list items are not created",
                )

    def _add(self, tree: _NewKeys, write: _Write, depth: int) -> None:
        for index in range(depth, len(write.location)):
            step = write.location[index]
            key_node = write.source[index + 1].key_node
            key_text = self.source.text[key_node.start_mark.index : key_node.end_mark.index]
            if index == len(write.location) - 1:
                tree[step] = (key_text, write)
            else:
                tree = tree.setdefault(step, (key_text, _NewKeys()))[1]

    # -- replacing an existing value

    def _replace(self, place: _Place, write: _Write) -> _Edit:
        order = (-len(write.location), 0)
        if self.target.is_json:
            end = _content_end(self.target.text, place.node)
            # A container the target writes on one line stays on one line.
            one_line = bool(place.value) and "\n" not in self.target.text[place.start : end]
            return _Edit(
                place.start, end, order, self._json_value(write, self._line_indent(place.start), one_line)
            )
        slot = _slot(self.target, place)
        if not place.is_alias:
            self._check_anchors_kept(write, place.node, slot)
        if slot.flow:
            return _Edit(slot.value, slot.end, order, self._flow_separator(slot) + self._flow_value(write))
        return self._yaml_edit(_requoted(write.value, place) or self._rendered(write), slot, order)

    def _check_anchors_kept(self, write: _Write, node: Node, slot: _Slot) -> None:
        text = self.target.text
        for anchor in _anchors_defined(node, slot.value, slot.end):
            alias = _alias_pattern(anchor)
            if alias.search(text, 0, slot.value) or alias.search(text, slot.end):
                self._fail(
                    write,
                    f"the target value defines the anchor &{anchor}, which *{anchor} uses elsewhere; "
                    "replacing the value would leave that alias dangling",
                )

    # -- creating missing keys

    def _addition(self, container: _Place | None, depth: int, tree: _NewKeys) -> _Edit:
        order = (-depth, 1)
        text = self.target.text
        if container is None:  # an empty target document
            body = (
                self._json_dumps(self._plain(tree), "") if self.target.is_json else self._block_pairs(tree, 0)
            )
            separator = "\n" if text and not text.endswith("\n") else ""
            return _Edit(len(text), len(text), order, separator + body + "\n")
        node = container.node
        if not isinstance(node, MappingNode) or (
            not node.value and not getattr(container.value, merge_attrib, None)
        ):
            return self._fill(container, tree, order)
        if self.target.is_json:
            return self._json_insert(container, tree, order)
        if node.flow_style:
            position = _rstrip(text, node.start_mark.index, node.end_mark.index - 1)
            separator = " " if text[position - 1] == "," else ", "
            return _Edit(position, position, order, separator + self._flow_pairs(tree)[1:-1])
        first_key = (
            node.value[0][0].start_mark.index
            if node.value
            else _SKIP_BLANKS.match(text, _after_anchor(text, container)).end()
        )
        column = _column(text, first_key)
        position = _content_end(text, node)
        return _Edit(position, position, order, "\n" + " " * column + self._block_pairs(tree, column))

    def _fill(self, container: _Place, tree: _NewKeys, order: tuple[int, int]) -> _Edit:
        """Replace a null or empty mapping with the new keys."""
        if self.target.is_json:
            end = _content_end(self.target.text, container.node)
            return _Edit(
                container.start,
                end,
                order,
                self._json_dumps(self._plain(tree), self._line_indent(container.start)),
            )
        slot = _slot(self.target, container)
        if slot.flow:
            return _Edit(slot.value, slot.end, order, self._flow_separator(slot) + self._flow_pairs(tree))
        return self._yaml_edit(self._tree_rendered(tree), slot, order)

    # -- YAML text

    def _yaml_edit(self, rendered: _Rendered, slot: _Slot, order: tuple[int, int]) -> _Edit:
        start, text = _place(rendered, slot)
        end = slot.end
        comment = _TRAILING_COMMENT.match(self.target.text, end)
        if comment and rendered.spans_block_lines:
            # A comment after the old value would end up inside the new block (as content, after a block
            # scalar): keep it on the first line instead.
            first_break = text.index("\n")
            text = text[:first_break] + comment.group() + text[first_break:]
            end = comment.end()
        return _Edit(start, end, order, text)

    def _rendered(self, write: _Write) -> _Rendered:
        flow = bool(getattr(write.value, "fa", None) and write.value.fa.flow_style())
        return _copied(self.source, write.source[-1]) or _dumped(write.value, self.yaml_indent, flow=flow)

    def _block_pairs(self, tree: _NewKeys, column: int) -> str:
        pairs = []
        for key_text, child in tree.values():
            rendered = self._tree_rendered(child) if isinstance(child, _NewKeys) else self._rendered(child)
            pairs.append(key_text + ":" + _place(rendered, _Slot.new_key(column))[1])
        return ("\n" + " " * column).join(pairs)

    def _tree_rendered(self, tree: _NewKeys) -> _Rendered:
        lines = self._block_pairs(tree, self.yaml_indent).split("\n")
        return _Rendered(lines[0].lstrip(" "), tuple(lines[1:]), True, self.yaml_indent)

    def _flow_value(self, write: _Write) -> str:
        place = write.source[-1]
        block_scalar = isinstance(place.node, ScalarNode) and place.node.style in _BLOCK_SCALAR_STYLES
        copied = None if block_scalar else _copied(self.source, place)
        if copied is not None and copied.first and not copied.rest and not copied.block:
            return copied.first
        return _dumped(write.value, self.yaml_indent, flow=True).first

    def _flow_pairs(self, tree: _NewKeys) -> str:
        pairs = (
            key_text
            + ": "
            + (self._flow_pairs(child) if isinstance(child, _NewKeys) else self._flow_value(child))
            for key_text, child in tree.values()
        )
        return "{" + ", ".join(pairs) + "}"

    @staticmethod
    def _flow_separator(slot: _Slot) -> str:
        return " " if slot.value == slot.lead else ""

    @functools.cached_property
    def yaml_indent(self) -> int:
        """Spaces per nesting level for new keys: the target's, else the source's, else two."""
        return _yaml_indent(self.target) or _yaml_indent(self.source) or _DEFAULT_INDENT

    # -- JSON text

    @functools.cached_property
    def json_indent(self) -> str | None:
        """The indentation unit of the target (None when it is written on one line); an empty target takes the
        source's."""
        doc = self.target if self.target.text.strip() else self.source
        match = _JSON_INDENT.search(doc.text)
        return match.group(1) if match else None

    def _line_indent(self, index: int) -> str:
        text = self.target.text
        line_start = text.rfind("\n", 0, index) + 1
        line = text[line_start:index]
        return line[: len(line) - len(line.lstrip())]

    def _json_dumps(self, value: Any, line_indent: str, *, one_line: bool = False) -> str:
        indent = None if one_line else self.json_indent
        return json.dumps(value, indent=indent, ensure_ascii=False).replace("\n", "\n" + line_indent)

    def _json_value(self, write: _Write, line_indent: str, one_line: bool) -> str:
        place = write.source[-1]
        if isinstance(place.node, ScalarNode):
            return self.source.text[place.start : place.node.end_mark.index]
        return self._json_dumps(write.value, line_indent, one_line=one_line)

    def _json_insert(self, container: _Place, tree: _NewKeys, order: tuple[int, int]) -> _Edit:
        text = self.target.text
        last_key, last_value = container.node.value[-1]
        position = _content_end(text, last_value)
        line_indent = self._line_indent(last_key.start_mark.index)
        multiline = "\n" in text[container.start : container.node.end_mark.index]
        separator = "\n" + line_indent if multiline else " "
        members = []
        for step, (_, child) in tree.items():
            value = self._plain(child) if isinstance(child, _NewKeys) else child.value
            members.append(
                separator + json.dumps(step, ensure_ascii=False) + ": " + self._json_dumps(value, line_indent)
            )
        return _Edit(position, position, order, "," + ",".join(members))

    def _plain(self, tree: _NewKeys) -> dict[Any, Any]:
        return {
            step: self._plain(child) if isinstance(child, _NewKeys) else child.value
            for step, (_, child) in tree.items()
        }


def _apply(text: str, edits: list[_Edit], eol: str) -> str:
    pieces = []
    cursor = 0
    for edit in sorted(edits, key=lambda edit: (edit.start, edit.end, edit.order)):
        if edit.start < cursor:
            raise AssertionError(f"overlapping edits at character {edit.start}")
        pieces.append(text[cursor : edit.start])
        pieces.append(edit.text.replace("\n", eol) if eol != "\n" else edit.text)
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _verify(text: str, writes: list[_Write], is_json: bool, file: str) -> None:
    """Read the edited document back: it must parse and hold every promoted value where it was written. This
    guards the target repository against a splice that went wrong; it is not expected to fail."""
    try:
        data = json.loads(text) if is_json else _read_back(text)
    except (ValueError, YAMLError) as exc:
        raise EditError(
            file, None, f"internal error: the edited file does not parse ({exc}); not written"
        ) from None
    for write in writes:
        value: Any = data
        try:
            for step in write.location:
                value = value[step]
        except (KeyError, IndexError, TypeError):
            value = _MISSING
        if not _same_value(value, write.value):
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
        return _parse(text, False).data


_MISSING = object()


def _same_value(left: Any, right: Any) -> bool:
    """Equal as data: same structure and scalar types (1, 1.0 and true differ); comments, layout ignored."""
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(_same_value(left[key], right[key]) for key in left)
        )
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(map(_same_value, left, right))
    if _scalar_kind(left) != _scalar_kind(right):
        return False
    return left == right or (left != left and right != right)  # NaN equals NaN here


def _scalar_kind(value: Any) -> str:
    if isinstance(value, (bool, ScalarBoolean)):
        return "bool"
    for kind in (int, float, str, datetime.datetime, datetime.date, bytes):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if value == "":
        return "an empty string"
    return f"the {_scalar_kind(value)} {value!r}"


def _normalized(location: Location) -> str:
    return "$" + "".join(
        f"[{canonical_string(step)}]" if isinstance(step, str) else f"[{step}]" for step in location
    )
