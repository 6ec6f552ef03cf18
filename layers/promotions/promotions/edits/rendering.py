"""Rendering: a promoted value as YAML text ready to hang from a key or dash in the target, copied from the
source's own text where it can travel as text, else dumped by ruamel.yaml; where in the target that text goes;
and (`TargetText`) the YAML or JSON text of replaced values and new keys in the target's own layout."""

from __future__ import annotations

import functools
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import merge_attrib
from ruamel.yaml.nodes import CollectionNode, MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarstring import ScalarString

from .document import (
    BLOCK_SCALAR_STYLES,
    Document,
    Place,
    after_anchor,
    column_of,
    content_end,
    json_value_end,
    past_blanks,
)
from .writes import Edit, NewKeys, Write

_QUOTE_STYLES = ("'", '"')
_NO_WRAP = 1 << 16
_DEFAULT_INDENT = 2
_JSON_INDENT = re.compile(r"\n([ \t]+)\S")
_TRAILING_COMMENT = re.compile(r"[ \t]+#[^\r\n]*")


@dataclass(frozen=True, slots=True)
class Rendered:
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
        return bool(self.rest) and (self.block or self.first[:1] in BLOCK_SCALAR_STYLES)


@dataclass(frozen=True, slots=True)
class Slot:
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
    def new_key(cls, column: int) -> Slot:
        """The slot after `key:` of a key being created at `column`."""
        return cls(
            lead=0, value=0, end=0, line_start=0, parent_col=column, node_col=column,
            in_seq=False, flow=False, same_line=True, commented=False,
        )  # fmt: skip


def slot_of(doc: Document, place: Place) -> Slot:
    text, node, parent = doc.text, place.node, place.parent
    end = place.alias_end if place.is_alias else content_end(text, node)
    if parent is None:
        lead, parent_col = None, -1  # the root hangs from nothing: it may start at column 0
    elif place.key_node is not None:  # a mapping's member
        lead = _colon_end(text, place.key_node.end_mark.index)
        parent_col = column_of(text, place.key_node.start_mark.index)
    else:
        lead = dash_end(text, place.start)
        parent_col = (
            column_of(text, lead - 1) if lead is not None else max(column_of(text, place.start) - 2, 0)
        )
    anchor_end = after_anchor(text, place)
    if anchor_end != place.start:
        lead = anchor_end
    if end is None:  # an empty value: `key:` with nothing after it
        value = end = lead if lead is not None else place.start
    else:
        value = past_blanks(text, anchor_end) if anchor_end != place.start else place.start
    gap = text[lead:value] if lead is not None else "\n"
    line_start = text.rfind("\n", 0, value) + 1
    return Slot(
        lead=lead,
        value=value,
        end=end,
        line_start=line_start,
        parent_col=parent_col,
        node_col=column_of(text, value),
        in_seq=isinstance(parent, SequenceNode),
        flow=isinstance(parent, CollectionNode) and bool(parent.flow_style),
        same_line="\n" not in gap,
        commented="#" in gap,
    )


def _colon_end(text: str, key_end: int) -> int | None:
    index = key_end
    while index < len(text) and text[index] in " \t":
        index += 1
    return index + 1 if text.startswith(":", index) else None


def dash_end(text: str, value_start: int) -> int | None:
    index = value_start - 1
    while index >= 0 and text[index] in " \t\r\n":
        index -= 1
    return index + 1 if index >= 0 and text[index] == "-" else None


def placed(rendered: Rendered, slot: Slot) -> tuple[int, str]:
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


def copied_rendering(doc: Document, place: Place) -> Rendered | None:
    """The source's own text of the value at `place`, or None when it cannot travel as text: it is an alias or
    holds anchors, aliases or merge keys, which would dangle or clash in the target."""
    if place.is_alias or _holds_anchors(place.value):
        return None
    text, node = doc.text, place.node
    start = past_blanks(text, after_anchor(text, place))
    end = content_end(text, node)
    if end is None:
        return Rendered("", ())
    if place.key_node is not None:  # a mapping's member
        parent_col = column_of(text, place.key_node.start_mark.index)
    elif isinstance(place.parent, SequenceNode):
        dash = dash_end(text, start)
        parent_col = (
            column_of(text, dash - 1) if dash is not None else column_of(text, place.parent.start_mark.index)
        )
    else:
        parent_col = 0
    lines = [line.removesuffix("\r") for line in text[start:end].split("\n")]
    block = isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style
    return Rendered(
        lines[0],
        tuple(_shift(line, -parent_col) for line in lines[1:]),
        block,
        column_of(text, start) - parent_col,
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


def dumped_rendering(value: Any, indent: int, *, flow: bool) -> Rendered:
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
        return Rendered(dumped.removeprefix("{x: ").rstrip().removesuffix("}"), ())
    tail = dumped.removeprefix("x:").removesuffix("\n")
    if tail.startswith("\n"):
        lines = tail[1:].split("\n")
        first = lines[0].lstrip(" ")
        return Rendered(first, tuple(lines[1:]), True, len(lines[0]) - len(first), first.startswith("- "))
    lines = tail.removeprefix(" ").split("\n")
    return Rendered(lines[0], tuple(lines[1:]))


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


def requoted(value: Any, target: Place) -> Rendered | None:
    """A single-line string promoted over a quoted string keeps the target's quotes."""
    style = None if target.is_alias else getattr(target.node, "style", None)
    if style not in _QUOTE_STYLES or not isinstance(target.value, str):
        return None
    if not isinstance(value, str) or not value.isprintable():
        return None
    if style == "'":
        return Rendered("'" + value.replace("'", "''") + "'", ())
    return Rendered(json.dumps(str(value), ensure_ascii=False), ())


def yaml_indent_of(doc: Document) -> int | None:
    """The document's mapping indentation: how far a nested block mapping sits past its parent key."""
    pending = [doc.root] if isinstance(doc.root, MappingNode) else []
    while pending:
        mapping = pending.pop()
        for key_node, value_node in mapping.value:
            if isinstance(value_node, MappingNode) and not value_node.flow_style and value_node.value:
                child_key = value_node.value[0][0]
                if child_key.start_mark.index > key_node.end_mark.index:
                    return column_of(doc.text, child_key.start_mark.index) - column_of(
                        doc.text, key_node.start_mark.index
                    )
                pending.append(value_node)
    return None


class TargetText:
    """The text that writes promoted values and new keys into the target: YAML in the target's indentation and
    styles (block or flow), or JSON in the target's indentation."""

    def __init__(self, source: Document, target: Document) -> None:
        self.source = source
        self.target = target

    # -- YAML text

    def yaml_edit(self, rendered: Rendered, slot: Slot, order: tuple[int, int]) -> Edit:
        start, text = placed(rendered, slot)
        end = slot.end
        comment = _TRAILING_COMMENT.match(self.target.text, end)
        if comment and rendered.spans_block_lines:
            # A comment after the old value would end up inside the new block (as content, after a block
            # scalar): keep it on the first line instead.
            first_break = text.index("\n")
            text = text[:first_break] + comment.group() + text[first_break:]
            end = comment.end()
        return Edit(start, end, order, text)

    def rendered(self, write: Write) -> Rendered:
        flow = bool(getattr(write.value, "fa", None) and write.value.fa.flow_style())
        return copied_rendering(self.source, write.source[-1]) or dumped_rendering(
            write.value, self.yaml_indent, flow=flow
        )

    def block_pairs(self, tree: NewKeys, column: int) -> str:
        pairs = []
        for key_text, child in tree.values():
            rendered = self.tree_rendered(child) if isinstance(child, NewKeys) else self.rendered(child)
            pairs.append(key_text + ":" + placed(rendered, Slot.new_key(column))[1])
        return ("\n" + " " * column).join(pairs)

    def tree_rendered(self, tree: NewKeys) -> Rendered:
        lines = self.block_pairs(tree, self.yaml_indent).split("\n")
        return Rendered(lines[0].lstrip(" "), tuple(lines[1:]), True, self.yaml_indent)

    def flow_value(self, write: Write) -> str:
        place = write.source[-1]
        block_scalar = isinstance(place.node, ScalarNode) and place.node.style in BLOCK_SCALAR_STYLES
        copied = None if block_scalar else copied_rendering(self.source, place)
        if copied is not None and copied.first and not copied.rest and not copied.block:
            return copied.first
        return dumped_rendering(write.value, self.yaml_indent, flow=True).first

    def flow_pairs(self, tree: NewKeys) -> str:
        pairs = (
            key_text
            + ": "
            + (self.flow_pairs(child) if isinstance(child, NewKeys) else self.flow_value(child))
            for key_text, child in tree.values()
        )
        return "{" + ", ".join(pairs) + "}"

    @staticmethod
    def flow_separator(slot: Slot) -> str:
        return " " if slot.value == slot.lead else ""

    @functools.cached_property
    def yaml_indent(self) -> int:
        """Spaces per nesting level for new keys: the target's, else the source's, else two."""
        return yaml_indent_of(self.target) or yaml_indent_of(self.source) or _DEFAULT_INDENT

    # -- JSON text

    @functools.cached_property
    def json_indent(self) -> str | None:
        """The indentation unit of the target (None when it is written on one line); an empty target takes the
        source's."""
        doc = self.target if self.target.text.strip() else self.source
        match = _JSON_INDENT.search(doc.text)
        return match.group(1) if match else None

    def line_indent(self, index: int) -> str:
        text = self.target.text
        line_start = text.rfind("\n", 0, index) + 1
        line = text[line_start:index]
        return line[: len(line) - len(line.lstrip())]

    def json_dumps(self, value: Any, line_indent: str, *, one_line: bool = False) -> str:
        indent = None if one_line else self.json_indent
        return json.dumps(value, indent=indent, ensure_ascii=False).replace("\n", "\n" + line_indent)

    def json_value(self, write: Write, line_indent: str, one_line: bool) -> str:
        place = write.source[-1]
        if isinstance(place.node, ScalarNode):
            return self.source.text[place.start : place.node.end_mark.index]
        return self.json_dumps(write.value, line_indent, one_line=one_line)

    def json_insert(self, container: Place, tree: NewKeys, order: tuple[int, int]) -> Edit:
        text = self.target.text
        last_key, last_value = container.node.value[-1]
        position = json_value_end(last_value)
        line_indent = self.line_indent(last_key.start_mark.index)
        multiline = "\n" in text[container.start : container.node.end_mark.index]
        separator = "\n" + line_indent if multiline else " "
        members = []
        for step, (_, child) in tree.items():
            value = self.plain(child) if isinstance(child, NewKeys) else child.value
            members.append(
                separator + json.dumps(step, ensure_ascii=False) + ": " + self.json_dumps(value, line_indent)
            )
        return Edit(position, position, order, "," + ",".join(members))

    def plain(self, tree: NewKeys) -> dict[Any, Any]:
        return {
            step: self.plain(child) if isinstance(child, NewKeys) else child.value
            for step, (_, child) in tree.items()
        }
