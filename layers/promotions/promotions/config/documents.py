"""YAML documents that remember where each node was written, so a problem points at the line that causes it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import Node, ScalarNode
from ruamel.yaml.reader import ReaderError

from promotions.config.errors import ConfigProblem

Location = Sequence[str | int]


@dataclass(frozen=True)
class SourceDocument:
    file: str
    content: CommentedMap

    def value(self, *path: str | int) -> Any:
        """The raw value at `path`, or None where the path does not exist."""
        node: Any = self.content
        for part in path:
            if not _holds(node, part):
                return None
            node = node[part]
        return node

    def line_of(self, path: Location) -> int:
        """1-based line of the deepest node along `path` that exists: a mapping entry's key line, a list item's
        own line, so a missing field points at its parent and a bad list entry at that entry."""
        node: Any = self.content
        line: int = self.content.lc.line
        for part in path:
            # A merged key (`<<:`) has no position of its own.
            position = node.lc.data.get(part) if _holds(node, part) else None
            if position is None:
                break
            line = position[0]
            node = node[part]
        return line + 1


def _holds(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


# Far deeper than any configuration; YAML nodes are built recursively, so a file nested a few hundred levels
# would otherwise exhaust the stack.
MAX_NESTING = 100


class _BoundedComposer(Composer):
    """Stops at MAX_NESTING levels with an error at the line of the first one too deep."""

    _depth = 0

    def compose_sequence_node(self, anchor: Any) -> Any:
        return self._nested(super().compose_sequence_node, anchor)

    def compose_mapping_node(self, anchor: Any) -> Any:
        return self._nested(super().compose_mapping_node, anchor)

    def _nested(self, compose: Callable[[Any], Any], anchor: Any) -> Any:
        if self._depth == MAX_NESTING:
            raise ComposerError(
                problem=f"nested more than {MAX_NESTING} levels deep",
                problem_mark=self.parser.peek_event().start_mark,
            )
        self._depth += 1
        try:
            return compose(anchor)
        finally:
            self._depth -= 1


class _MarkedConstructor(RoundTripConstructor):
    """A value YAML cannot build (a 13th month, `!!int ten`, a key holding a mapping of mappings) becomes an
    error at its node, like any YAML error. Mappings are filled after construct_object returns, hence both."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        with _marked(node):
            return super().construct_object(node, deep)

    # RoundTripConstructor's own signature, which already differs from its base class's.
    def construct_mapping(self, node: Any, maptyp: Any, deep: bool = False) -> Any:  # type: ignore[override]
        with _marked(node):
            return super().construct_mapping(node, maptyp, deep)


@contextmanager
def _marked(node: Node) -> Iterator[None]:
    try:
        yield
    except (ValueError, LookupError, TypeError, ArithmeticError) as error:
        kind = str(node.tag).rpartition(":")[2]
        value = f" {node.value}" if isinstance(node, ScalarNode) else ""
        raise ConstructorError(
            problem=f"cannot read {kind}{value}: {error}", problem_mark=node.start_mark
        ) from error


def read_documents(file: str, data: bytes) -> tuple[list[SourceDocument], list[ConfigProblem]]:
    """Every mapping document in the file; a file that does not parse contributes none and one problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return [], [ConfigProblem(file, line, f"not UTF-8 text ({error.reason} at byte {error.start})")]
    # A YAML instance is not thread-safe: one per file.
    yaml = YAML(typ="rt")
    yaml.Composer = _BoundedComposer
    yaml.Constructor = _MarkedConstructor
    try:
        contents = list(yaml.load_all(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = "; ".join(part for part in (error.context, error.problem) if part)
        return [], [ConfigProblem(file, mark.line + 1 if mark else 1, f"invalid YAML: {reason}")]
    except ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        message = f"invalid YAML: unacceptable character #x{error.character:04x}: {error.reason}"
        return [], [ConfigProblem(file, line, message)]
    return [SourceDocument(file, content) for content in contents if isinstance(content, CommentedMap)], []
