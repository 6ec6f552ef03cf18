"""GitHub `push` webhooks (X-GitHub-Event: push) and their X-Hub-Signature-256."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from pydantic import Field

from promotions.push import GitPush
from promotions.sources._payload import (
    Commit,
    CommitSha,
    GitRef,
    Payload,
    PayloadModel,
    touched_paths,
    validated,
)
from promotions.sources.event_source import EventSource, WebhookRoute

PROVIDER = "github"
_SIGNATURE_PREFIX = "sha256="


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


def verify_github_signature(secret: bytes, body: bytes, signature_header: str | None) -> bool:
    """Whether `signature_header` (X-Hub-Signature-256) is the HMAC-SHA256 of the raw `body` under `secret`.

    Compared in constant time. A missing or malformed header is False; an empty secret is a configuration
    error (anyone could sign with it) and raises ValueError.
    """
    if not secret:
        raise ValueError("the GitHub webhook secret is empty")
    if not signature_header or not signature_header.startswith(_SIGNATURE_PREFIX):
        return False
    expected = _SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature_header.encode())


def _signed(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    return verify_github_signature(secret.encode(), body, headers.get("x-hub-signature-256"))


def _pushes(payload: Payload, *, delivery_id: str | None) -> list[GitPush]:
    return [parse_github_push(payload, delivery_id=delivery_id)]


SOURCE = EventSource(
    name=PROVIDER,
    arrival=WebhookRoute(
        event_header="X-GitHub-Event",
        delivery_header="X-GitHub-Delivery",
        push_events=frozenset({"push"}),
        verify=_signed,
        secret_entry=PROVIDER,
    ),
    parse=_pushes,
)
