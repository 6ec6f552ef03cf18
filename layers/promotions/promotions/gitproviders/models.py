"""What the engine needs of a Git host, whichever host it is: pull requests for the `pr` action, commit
statuses for the commitStatus check and for reporting a release on its commits."""

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


class CommitState(StrEnum):
    """What a commit status means for a gate; each host has its own words for these (`CommitStatus.detail`)."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"


class StatusKind(StrEnum):
    STATUS = (
        "status"  # GitHub's status context, GitLab's commit status (pipeline jobs too), Bitbucket's build
    )
    CHECK_RUN = "check run"  # GitHub Checks only


class CommitStatus(BaseModel):
    """The latest report of one name on a commit."""

    model_config = ConfigDict(frozen=True)

    kind: StatusKind
    name: str
    state: CommitState
    detail: str  # the host's own words: its state, and the description when it has one


class CommitStatusUpdate(BaseModel):
    """A status to set on a commit. `name` is GitHub's context, GitLab's name, Bitbucket's key: setting the same
    name again replaces the status. `url` is where the status links to (Bitbucket requires one)."""

    model_config = ConfigDict(frozen=True)

    name: str
    state: CommitState
    description: str
    url: str


class GitProvider(Protocol):
    """One Git host's API. Every call raises GitProviderAuthError, GitProviderNotFound, GitProviderRejected,
    GitProviderError (an answer of another shape), GitProviderConfigError (a repository URL the host cannot
    name), or HttpTransientError (5xx, rate limits, the network: the same call may succeed later)."""

    @property
    def name(self) -> str:
        """The host as people know it: GitHub, GitLab, Bitbucket."""
        ...

    @property
    def status_kinds(self) -> frozenset[StatusKind]:
        """The kinds of commit status the host has."""
        ...

    def open(
        self, repo_url: str, source_branch: str, target_branch: str, title: str, body: str
    ) -> PullRequest: ...

    def state(self, repo_url: str, number: int) -> PullRequestState: ...

    def find_open(self, repo_url: str, source_branch: str, target_branch: str) -> PullRequest | None:
        """The open pull request from `source_branch` into `target_branch`: a retried promotion reuses it."""
        ...

    def commit_statuses(self, repo_url: str, sha: str, kinds: frozenset[StatusKind]) -> list[CommitStatus]:
        """The latest status of each name on commit `sha`, of the `kinds` asked for that the host has."""
        ...

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatusUpdate) -> None:
        """Set (or replace) the status `status.name` on commit `sha`; setting the same status twice is harmless,
        so a retried call may repeat it."""
        ...
