"""What every provider's push parser shares: validated SHAs and refs, and reading a payload."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from promotions.sources.event_source import EventError, Payload

_FULL_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_ABBREVIATED_SHA = re.compile(r"[0-9a-f]{7,64}")


def _full_sha(value: str) -> str:
    if not _FULL_SHA.fullmatch(value):
        raise PydanticCustomError("commit_sha", "expected a full commit SHA (40 or 64 lowercase hex digits)")
    return value


def _abbreviated_sha(value: str) -> str:
    if not _ABBREVIATED_SHA.fullmatch(value):
        raise PydanticCustomError("commit_sha", "expected a commit SHA (7 to 64 lowercase hex digits)")
    return value


def _git_ref(value: str) -> str:
    if not value.startswith("refs/") or value.endswith("/"):
        raise PydanticCustomError("git_ref", "expected a full Git ref such as refs/heads/main")
    return value


CommitSha = Annotated[str, AfterValidator(_full_sha)]
AbbreviatedSha = Annotated[str, AfterValidator(_abbreviated_sha)]
GitRef = Annotated[str, AfterValidator(_git_ref)]


class PayloadModel(BaseModel):
    """The fields a parser reads from a payload; everything else in it is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Commit(PayloadModel):
    """The files a commit touched, as GitHub and GitLab list them."""

    added: list[str] = Field(default_factory=list)
    modified: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


def validated[M: PayloadModel](model: type[M], payload: Payload, provider: str) -> M:
    """`payload` (JSON text or already decoded) read as `model`; EventError names the first bad field."""
    try:
        if isinstance(payload, (bytes, str)):
            return model.model_validate_json(payload)
        return model.model_validate(dict(payload))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        message = first["msg"][:1].lower() + first["msg"][1:]
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise EventError(provider, field_path(first["loc"]), message) from None


def field_path(location: Iterable[str | int]) -> str:
    """('commits', 0, 'added') -> 'commits[0].added'."""
    path = ""
    for step in location:
        path += f"[{step}]" if isinstance(step, int) else (f".{step}" if path else str(step))
    return path


def touched_paths(commits: Iterable[Commit]) -> frozenset[str]:
    return frozenset(
        path for commit in commits for path in (*commit.added, *commit.modified, *commit.removed)
    )
