"""Bitbucket Cloud `repo:push` payloads, read as the GitPushes they describe (one per ref they change)."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from promotions.push import ZERO_SHA, GitPush
from promotions.sources._payload import AbbreviatedSha, PayloadModel, validated
from promotions.sources.bitbucket import PROVIDER
from promotions.sources.event_source import EventError, Payload

_REF_PREFIXES = {"branch": "refs/heads/", "tag": "refs/tags/"}


class _User(PayloadModel):
    display_name: str = ""


class _Author(PayloadModel):
    raw: str = ""  # "Name <email>"
    user: _User | None = None


class _Target(PayloadModel):
    hash: AbbreviatedSha
    message: str = ""
    author: _Author | None = None


class _RefState(PayloadModel):
    type: Literal["branch", "tag"]
    name: str = Field(min_length=1)
    target: _Target


class _Change(PayloadModel):
    old: _RefState | None = None  # null when the push creates the ref
    new: _RefState | None = None  # null when the push deletes it

    @model_validator(mode="after")
    def _names_a_ref(self) -> _Change:
        if self.old is None and self.new is None:
            raise PydanticCustomError("ref_change", "neither old nor new is set")
        return self


class _Changes(PayloadModel):
    changes: list[_Change]


class _Href(PayloadModel):
    href: str


class _Links(PayloadModel):
    html: _Href


class _Repository(PayloadModel):
    links: _Links


class _Push(PayloadModel):
    push: _Changes
    repository: _Repository


def parse_bitbucket_pushes(payload: Payload, *, delivery_id: str | None = None) -> list[GitPush]:
    """One GitPush per ref a Bitbucket Cloud `repo:push` payload changes (a push may update several).

    Bitbucket lists no changed files, so `changed_paths` is empty (unknown); it may abbreviate commit hashes,
    and it does not name the default branch.
    """
    push = validated(_Push, payload, PROVIDER)
    repo_url = push.repository.links.html.href.rstrip("/") + ".git"
    return [_git_push(change, repo_url, delivery_id) for change in push.push.changes]


def parse_bitbucket_push(payload: Payload, *, delivery_id: str | None = None) -> GitPush:
    """The GitPush of a `repo:push` payload changing exactly one ref (see parse_bitbucket_pushes)."""
    pushes = parse_bitbucket_pushes(payload, delivery_id=delivery_id)
    if len(pushes) != 1:
        raise EventError(
            PROVIDER,
            "push.changes",
            f"changes {len(pushes)} refs; expected exactly one (parse_bitbucket_pushes reads them all)",
        )
    return pushes[0]


def _git_push(change: _Change, repo_url: str, delivery_id: str | None) -> GitPush:
    ref = change.new or change.old
    assert ref is not None, "_Change refuses a change naming neither old nor new"
    head = change.new.target if change.new is not None else None
    author = head.author if head is not None and head.author is not None else _Author()
    name, email = parseaddr(author.raw)
    if not name and author.user is not None:
        name = author.user.display_name
    return GitPush(
        provider=PROVIDER,
        repo_url=repo_url,
        ref=_REF_PREFIXES[ref.type] + ref.name,
        before=change.old.target.hash if change.old is not None else ZERO_SHA,
        after=head.hash if head is not None else ZERO_SHA,
        commit_message=head.message if head is not None else "",
        author_name=name,
        author_email=email,
        delivery_id=delivery_id,
    )
