"""GitHub `push` payloads (X-GitHub-Event: push), read as the GitPush they describe."""

from __future__ import annotations

from pydantic import Field

from promotions.push import GitPush
from promotions.sources._payload import Commit, CommitSha, GitRef, PayloadModel, touched_paths, validated
from promotions.sources.event_source import Payload
from promotions.sources.github import PROVIDER


class _Author(PayloadModel):
    name: str = ""
    email: str | None = None


class _HeadCommit(PayloadModel):
    message: str = ""
    author: _Author | None = None


class _Repository(PayloadModel):
    clone_url: str
    default_branch: str | None = None
    master_branch: str | None = None  # what older payloads call the default branch


class _Push(PayloadModel):
    ref: GitRef
    before: CommitSha
    after: CommitSha
    repository: _Repository
    commits: list[Commit] = Field(default_factory=list)
    head_commit: _HeadCommit | None = None  # null when the push deletes the ref


def parse_github_push(payload: Payload, *, delivery_id: str | None = None) -> GitPush:
    """The GitPush a GitHub `push` payload describes.

    `after` is the ref's new value (for an annotated tag, the tag object). The changed paths are every path
    the listed commits added, modified or removed; a push listing no commits (a new tag, a deletion) has
    none, which GitPush reads as "unknown".
    """
    push = validated(_Push, payload, PROVIDER)
    head = push.head_commit
    author = head.author if head is not None and head.author is not None else _Author()
    return GitPush(
        provider=PROVIDER,
        repo_url=push.repository.clone_url,
        ref=push.ref,
        before=push.before,
        after=push.after,
        changed_paths=touched_paths(push.commits),
        commit_message=head.message if head is not None else "",
        author_name=author.name,
        author_email=author.email or "",
        default_branch=push.repository.default_branch or push.repository.master_branch,
        delivery_id=delivery_id,
    )
