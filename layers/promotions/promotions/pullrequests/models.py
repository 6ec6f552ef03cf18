"""What the `pr` promotion action needs of a Git provider, whichever provider it is."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class PullRequestStatus(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    CLOSED = (
        "closed"  # closed without being merged: GitHub closed, GitLab closed, Bitbucket declined/superseded
    )


class PullRequest(BaseModel):
    """An open pull request: GitHub's number, GitLab's merge request iid, Bitbucket's id."""

    model_config = ConfigDict(frozen=True)

    number: int
    url: str


class PullRequestState(BaseModel):
    """Where a pull request stands; once merged, `merge_commit_sha` is the full commit the target received."""

    model_config = ConfigDict(frozen=True)

    number: int
    status: PullRequestStatus
    merge_commit_sha: str | None = None
    url: str


class PullRequestProvider(Protocol):
    """Raises PullRequestAuthError, PullRequestNotFound, PullRequestRejected, or HttpTransientError."""

    def open(
        self, repo_url: str, source_branch: str, target_branch: str, title: str, body: str
    ) -> PullRequest: ...

    def state(self, repo_url: str, number: int) -> PullRequestState: ...

    def find_open(self, repo_url: str, source_branch: str, target_branch: str) -> PullRequest | None:
        """The open pull request from `source_branch` into `target_branch`: a retried promotion reuses it."""
        ...
