"""GitLab `Push Hook` and `Tag Push Hook` payloads, read as the GitPush they describe."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from promotions.push import GitPush
from promotions.sources._payload import Commit, CommitSha, GitRef, PayloadModel, touched_paths, validated
from promotions.sources.event_source import EventError, Payload
from promotions.sources.gitlab import PROVIDER


class _Author(PayloadModel):
    name: str = ""
    email: str | None = None


class _Commit(Commit):
    id: CommitSha
    message: str = ""
    author: _Author | None = None


class _Project(PayloadModel):
    git_http_url: str
    default_branch: str | None = None


class _Push(PayloadModel):
    object_kind: Literal["push", "tag_push"]
    ref: GitRef
    before: CommitSha
    after: CommitSha | None = None
    checkout_sha: CommitSha | None = None  # null when the push deletes the ref
    project: _Project
    commits: list[_Commit] = Field(default_factory=list)
    total_commits_count: int | None = None


def parse_gitlab_push(payload: Payload, *, delivery_id: str | None = None) -> GitPush:
    """The GitPush a GitLab push or tag push payload describes.

    `after` is the ref's new value (`checkout_sha` when a payload lacks `after`). GitLab lists at most 20
    commits: when `total_commits_count` says more were pushed, the changed paths are unknown (empty) rather
    than a partial list that would hide files from path filters.
    """
    push = validated(_Push, payload, PROVIDER)
    after = push.after or push.checkout_sha
    if after is None:
        raise EventError(PROVIDER, "after", "field required (neither after nor checkout_sha is set)")
    complete = push.total_commits_count is None or push.total_commits_count <= len(push.commits)
    head = next((commit for commit in push.commits if commit.id in (after, push.checkout_sha)), None)
    author = head.author if head is not None and head.author is not None else _Author()
    return GitPush(
        provider=PROVIDER,
        repo_url=push.project.git_http_url,
        ref=push.ref,
        before=push.before,
        after=after,
        changed_paths=touched_paths(push.commits) if complete else frozenset(),
        commit_message=head.message if head is not None else "",
        author_name=author.name,
        author_email=author.email or "",
        default_branch=push.project.default_branch,
        delivery_id=delivery_id,
    )
