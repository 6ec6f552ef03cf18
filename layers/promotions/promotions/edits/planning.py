"""Planning: the source values to promote, and the text edits of the target that write them, each touching
only the characters of a replaced value or an inserted key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from ruamel.yaml.comments import merge_attrib
from ruamel.yaml.nodes import MappingNode, Node

from .document import (
    Document,
    Location,
    Place,
    after_anchor,
    alias_pattern,
    anchors_defined,
    column_of,
    content_end,
    json_value_end,
    past_blanks,
    query,
    trimmed_end,
    walk,
)
from .errors import EditError
from .rendering import Slot, TargetText, requoted, slot_of
from .values import kind_of, normalized_path, same_value
from .writes import Edit, NewKeys, Write


def selected_writes(doc: Document, json_paths: Sequence[str], file: str) -> list[Write]:
    """The source values to promote, one per location (a location inside another selected one goes too)."""
    found: dict[Location, Write] = {}
    for json_path in json_paths:
        for match in query(doc, json_path, file):
            location = tuple(match.location)
            places = walk(doc, location)
            reached_through_anchor = len(places) <= len(location) or any(p.is_alias for p in places[1:-1])
            if location not in found and not reached_through_anchor:
                found[location] = Write(json_path, location, tuple(places))
    return [
        write
        for location, write in found.items()
        if not any(location[:depth] in found for depth in range(len(location)))
    ]


class Planner:
    """Turns the writes into text edits of the target document."""

    def __init__(self, source: Document, target: Document, file: str) -> None:
        self.source = source
        self.target = target
        self.file = file
        self._text = TargetText(source, target)

    def edits(self, writes: list[Write]) -> list[Edit]:
        edits: list[Edit] = []
        additions: dict[int, tuple[Place | None, int, NewKeys]] = {}
        for write in writes:
            places = walk(self.target, write.location)
            if any(place.is_alias for place in places[1 : len(write.location)]):
                self._fail(
                    write,
                    "is reached through an alias (*) in the target; writing there would change "
                    "every place that shares the anchor",
                )
            if len(places) == len(write.location) + 1:
                if not same_value(places[-1].value, write.value):
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
                        f"{normalized_path(write.location[: depth + 1])} is inherited through a YAML "
                        "merge key (<<) in the target; only the whole value can be overridden",
                    )
                if same_value(container.value[step], write.value):
                    continue
            key = id(container.node) if container is not None else 0
            _, _, tree = additions.setdefault(key, (container, depth, NewKeys()))
            self._add(tree, write, depth)
        edits.extend(self._addition(container, depth, tree) for container, depth, tree in additions.values())
        return edits

    def _fail(self, write: Write, message: str) -> NoReturn:
        raise EditError(self.file, write.json_path, f"{write.path}: {message}")

    def _check_creatable(self, write: Write, container: Place | None, depth: int) -> None:
        step = write.location[depth]
        value = container.value if container is not None else None
        if isinstance(value, list):
            if isinstance(step, int):
                self._fail(
                    write,
                    f"the target list {normalized_path(write.location[:depth])} has no item {step} "
                    f"(it has {len(value)}); list items are not created",
                )
            self._fail(
                write,
                f"the target has a list at {normalized_path(write.location[:depth])} where the source "
                "has a mapping",
            )
        if value is not None and not isinstance(value, dict):
            self._fail(
                write,
                f"the target has {kind_of(value)} at {normalized_path(write.location[:depth])} where the "
                "source has a mapping",
            )
        for index in range(depth, len(write.location)):
            if not isinstance(write.source[index].value, dict):
                self._fail(
                    write,
                    f"the target has no list at {normalized_path(write.location[: index + 1])}; "
                    "list items are not created",
                )

    def _add(self, tree: NewKeys, write: Write, depth: int) -> None:
        for index in range(depth, len(write.location)):
            step = write.location[index]
            key_node = write.source[index + 1].key_node
            assert key_node is not None, "only keys are created, never list items (_check_creatable)"
            key_text = self.source.text[key_node.start_mark.index : key_node.end_mark.index]
            if index == len(write.location) - 1:
                tree[step] = (key_text, write)
            else:
                tree = tree.setdefault(step, (key_text, NewKeys()))[1]

    # -- replacing an existing value

    def _replace(self, place: Place, write: Write) -> Edit:
        order = (-len(write.location), 0)
        if self.target.is_json:
            end = json_value_end(place.node)
            # A container the target writes on one line stays on one line.
            one_line = bool(place.value) and "\n" not in self.target.text[place.start : end]
            return Edit(
                place.start,
                end,
                order,
                self._text.json_value(write, self._text.line_indent(place.start), one_line),
            )
        slot = slot_of(self.target, place)
        if not place.is_alias:
            self._check_anchors_kept(write, place.node, slot)
        if slot.flow:
            return Edit(
                slot.value, slot.end, order, self._text.flow_separator(slot) + self._text.flow_value(write)
            )
        return self._text.yaml_edit(requoted(write.value, place) or self._text.rendered(write), slot, order)

    def _check_anchors_kept(self, write: Write, node: Node, slot: Slot) -> None:
        text = self.target.text
        for anchor in anchors_defined(node, slot.value, slot.end):
            alias = alias_pattern(anchor)
            if alias.search(text, 0, slot.value) or alias.search(text, slot.end):
                self._fail(
                    write,
                    f"the target value defines the anchor &{anchor}, which *{anchor} uses elsewhere; "
                    "replacing the value would leave that alias dangling",
                )

    # -- creating missing keys

    def _addition(self, container: Place | None, depth: int, tree: NewKeys) -> Edit:
        order = (-depth, 1)
        text = self.target.text
        if container is None:  # an empty target document
            body = (
                self._text.json_dumps(self._text.plain(tree), "")
                if self.target.is_json
                else self._text.block_pairs(tree, 0)
            )
            separator = "\n" if text and not text.endswith("\n") else ""
            return Edit(len(text), len(text), order, separator + body + "\n")
        node = container.node
        if not isinstance(node, MappingNode) or (
            not node.value and not getattr(container.value, merge_attrib, None)
        ):
            return self._fill(container, tree, order)
        if self.target.is_json:
            return self._text.json_insert(container, tree, order)
        if node.flow_style:
            position = trimmed_end(text, node.start_mark.index, node.end_mark.index - 1)
            separator = " " if text[position - 1] == "," else ", "
            return Edit(position, position, order, separator + self._text.flow_pairs(tree)[1:-1])
        first_key = (
            node.value[0][0].start_mark.index
            if node.value
            else past_blanks(text, after_anchor(text, container))
        )
        column = column_of(text, first_key)
        position = content_end(text, node)
        return Edit(position, position, order, "\n" + " " * column + self._text.block_pairs(tree, column))

    def _fill(self, container: Place, tree: NewKeys, order: tuple[int, int]) -> Edit:
        """Replace a null or empty mapping with the new keys."""
        if self.target.is_json:
            end = json_value_end(container.node)
            return Edit(
                container.start,
                end,
                order,
                self._text.json_dumps(self._text.plain(tree), self._text.line_indent(container.start)),
            )
        slot = slot_of(self.target, container)
        if slot.flow:
            return Edit(
                slot.value, slot.end, order, self._text.flow_separator(slot) + self._text.flow_pairs(tree)
            )
        return self._text.yaml_edit(self._text.tree_rendered(tree), slot, order)


def apply_edits(text: str, edits: list[Edit], eol: str) -> str:
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
