"""Git push webhooks of GitHub, GitLab and Bitbucket Cloud, normalised to promotions.push.GitPush."""

from __future__ import annotations

from promotions.push import GitPush
from promotions.sources._payload import EventError, Payload
from promotions.sources.bitbucket import parse_bitbucket_push, parse_bitbucket_pushes
from promotions.sources.github import parse_github_push, verify_github_signature
from promotions.sources.gitlab import parse_gitlab_push, verify_gitlab_token

__all__ = [
    "EventError",
    "parse_bitbucket_push",
    "parse_bitbucket_pushes",
    "parse_github_push",
    "parse_gitlab_push",
    "parse_push",
    "parse_pushes",
    "verify_github_signature",
    "verify_gitlab_token",
]

_PARSERS = {"github": parse_github_push, "gitlab": parse_gitlab_push, "bitbucket": parse_bitbucket_push}


def parse_push(provider: str, payload: Payload, *, delivery_id: str | None = None) -> GitPush:
    """The ref update a `provider` ("github", "gitlab" or "bitbucket") push payload reports.

    Raises EventError for a payload that is not a push (or a Bitbucket push of several refs: see
    parse_pushes), ValueError for an unknown provider.
    """
    try:
        parse = _PARSERS[provider]
    except KeyError:
        raise ValueError(
            f"unknown Git provider {provider!r}; expected one of {', '.join(_PARSERS)}"
        ) from None
    return parse(payload, delivery_id=delivery_id)


def parse_pushes(provider: str, payload: Payload, *, delivery_id: str | None = None) -> list[GitPush]:
    """Every ref update a push payload reports: one for GitHub and GitLab, one or more for Bitbucket."""
    if provider == "bitbucket":
        return parse_bitbucket_pushes(payload, delivery_id=delivery_id)
    return [parse_push(provider, payload, delivery_id=delivery_id)]
