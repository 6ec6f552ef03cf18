"""A push to a Git repository, as every provider's webhook reduces to it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from promotions.source_names import SOURCE_NAME

ZERO_SHA = "0" * 40
SourceName = Annotated[str, StringConstraints(pattern=f"^{SOURCE_NAME.pattern}$")]


class GitPush(BaseModel):
    """What the engine needs of a push: where it landed, which commit, what it touched and what it said."""

    model_config = ConfigDict(frozen=True)

    provider: SourceName
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
