"""What planning decides and rendering writes: one source value to promote, the keys to create under one target
mapping, and one text edit of the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .document import Location, Place
from .values import normalized_path


@dataclass(frozen=True, slots=True)
class Write:
    """One value to promote: where it sits in the source, and the template path that selected it."""

    json_path: str
    location: Location
    source: tuple[Place, ...]

    @property
    def path(self) -> str:
        return normalized_path(self.location)

    @property
    def value(self) -> Any:
        return self.source[-1].value


class NewKeys(dict):
    """Keys to create under one target mapping: step -> (key text from the source, Write | NewKeys)."""


@dataclass(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    order: tuple[int, int]
    text: str
