"""Values the Git engine takes and returns."""

from __future__ import annotations

import dataclasses

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.dataclasses import dataclass


def _identity_part(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"commit {what} is empty")
    if any(character in value for character in "<>\n\r\0"):
        raise ValueError(
            f"commit {what} {value!r} contains '<', '>', a line break or NUL, which Git cannot store"
        )
    return value.strip()


@dataclass(frozen=True)
class Author:
    """Who a commit is by; also its committer."""

    name: str
    email: str

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _identity_part(value, "author name")

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        return _identity_part(value, "author email")

    @property
    def identity(self) -> bytes:
        """`Name <email>`, as Git stores it in a commit."""
        return f"{self.name} <{self.email}>".encode()


@dataclass(frozen=True)
class HttpCredentials:
    """HTTP basic credentials (for GitHub: any username and a token as password). The password never shows in
    repr."""

    username: str
    password: str = dataclasses.field(repr=False)


class CommitOutcome(BaseModel):
    """What `GitRemote.commit` did.

    `commit_sha` is the pushed commit, or None when the edits changed nothing (no empty commit is made).
    `base_sha` is the branch tip the edits were applied to (the new commit's parent), `attempts` how many
    fetch-edit-push rounds it took, `changed_paths` the files the commit adds, modifies or deletes.
    """

    model_config = ConfigDict(frozen=True)

    commit_sha: str | None
    base_sha: str
    attempts: int
    changed_paths: tuple[str, ...] = ()
