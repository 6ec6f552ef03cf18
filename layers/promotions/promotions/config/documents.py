"""YAML documents that remember where each node was written, so a problem points at the line that causes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError

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


def read_documents(file: str, data: bytes) -> tuple[list[SourceDocument], list[ConfigProblem]]:
    """Every mapping document in the file; a file that does not parse contributes none and one problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return [], [ConfigProblem(file, None, f"not UTF-8 text ({error.reason} at byte {error.start})")]
    # A YAML instance is not thread-safe: one per file.
    yaml = YAML(typ="rt")
    try:
        contents = list(yaml.load_all(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = "; ".join(part for part in (error.context, error.problem) if part)
        return [], [ConfigProblem(file, mark.line + 1 if mark else None, f"invalid YAML: {reason}")]
    except YAMLError as error:
        return [], [ConfigProblem(file, None, f"invalid YAML: {error}")]
    return [SourceDocument(file, content) for content in contents if isinstance(content, CommentedMap)], []
