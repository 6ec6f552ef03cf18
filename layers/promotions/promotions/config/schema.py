"""The keys a configuration kind's documents may hold, read off its pydantic model, so that an unknown key is
reported where it is written, with the field that was probably meant."""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AliasChoices, AliasPath, BaseModel
from pydantic.fields import FieldInfo

from promotions.config.documents import Location

# Kubernetes' ObjectMeta: tools write uid, resourceVersion, managedFields and more; we read only what we name.
_OPEN_MAPPINGS = frozenset({"metadata"})


@dataclass(frozen=True)
class Ignored:
    """Marks a field that Codefresh defines and we accept without acting on it: loading warns when it is set."""

    reason: str


def alias_paths(name: str, field: FieldInfo) -> list[tuple[str | int, ...]]:
    """Where in a document the field is read from: one path, or one per alias choice."""
    alias = field.validation_alias or field.alias or name
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    return [tuple(choice.path) if isinstance(choice, AliasPath) else (choice,) for choice in choices]


def known_keys(annotation: Any, location: Location) -> frozenset[str]:
    """The keys the mapping at `location` inside a value of type `annotation` may hold; none where no model
    says (a free-form mapping, or a location the type does not reach)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return known_keys(get_args(annotation)[0], location)
    if origin in (Union, types.UnionType):
        return frozenset().union(*(known_keys(member, location) for member in get_args(annotation)))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_keys(annotation, tuple(location))
    if location and origin in (tuple, list):
        return known_keys(get_args(annotation)[0], location[1:])
    if location and origin is dict:
        return known_keys(get_args(annotation)[1], location[1:])
    return frozenset()


def _model_keys(model: type[BaseModel], location: tuple[str | int, ...]) -> frozenset[str]:
    # A model whose fields depend on the keys written (a PromotionCheck's spec: its kind's key) names the
    # model that a key chooses.
    model_for_key = getattr(model, "model_for_key", None)
    if location and model_for_key is not None:
        model = model_for_key(location[0]) or model
    paths = [
        (path, field.annotation)
        for name, field in model.model_fields.items()
        for path in alias_paths(name, field)
    ]
    for path, annotation in paths:
        if location[: len(path)] == path:
            return known_keys(annotation, location[len(path) :])
    return frozenset(
        str(path[len(location)])
        for path, _ in paths
        if len(path) > len(location) and path[: len(location)] == location
    )


def unknown_keys(model: type[BaseModel], content: Mapping[str, Any]) -> list[tuple[str | int, ...]]:
    """Keys in the mappings that `model`'s fields read through (`spec` of `AliasPath("spec", "kind")`), which
    pydantic's extra="forbid" does not see; only for a model that forbids unknown keys."""
    if model.model_config.get("extra") != "forbid":
        return []
    passed_through = {
        path[:depth]
        for name, field in model.model_fields.items()
        for path in alias_paths(name, field)
        for depth in range(1, len(path))
        if path[0] not in _OPEN_MAPPINGS
    }
    unknown: list[tuple[str | int, ...]] = []
    for prefix in sorted(passed_through, key=str):
        mapping = _value_at(content, prefix)
        if isinstance(mapping, Mapping):
            known = _model_keys(model, prefix)
            unknown.extend((*prefix, key) for key in mapping if key not in known)
    return unknown


def _value_at(content: Any, path: Location) -> Any:
    for part in path:
        if not (isinstance(content, Mapping) and part in content):
            return None
        content = content[part]
    return content


def ignored_fields(entity: BaseModel) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Where each Ignored field set in `entity` was written, and why it is ignored."""
    for name, field in type(entity).model_fields.items():
        marks = [mark for mark in field.metadata if isinstance(mark, Ignored)]
        if marks and getattr(entity, name) is not None:
            yield alias_paths(name, field)[0], marks[0].reason
