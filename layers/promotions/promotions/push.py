"""A push to a Git repository, as every provider's webhook reduces to it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ZERO_SHA = "0" * 40


class GitPush(BaseModel):
    """What the engine needs of a push: where it landed, which commit, what it touched and what it said."""

    model_config = ConfigDict(frozen=True)

    provider: Literal["github", "gitlab", "bitbucket", "generic"]
    repo_url: str
    ref: str
    before: str
    after: str
    changed_paths: frozenset[str] = frozenset()
    commit_message: str = ""
    author_name: str = ""
    author_email: str = ""
    default_branch: str | None = None
    delivery_id: str | None = None

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None

    @property
    def tag(self) -> str | None:
        return self.ref.removeprefix("refs/tags/") if self.ref.startswith("refs/tags/") else None

    @property
    def deletes_ref(self) -> bool:
        return self.after == ZERO_SHA
