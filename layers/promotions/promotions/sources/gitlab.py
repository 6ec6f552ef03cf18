"""GitLab webhooks: their route and X-Gitlab-Token. Their push and tag push payloads are read by
promotions.sources.gitlab_push."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

from promotions.sources.event_source import EventSource, Payload, WebhookRoute

if TYPE_CHECKING:
    from promotions.push import GitPush

PROVIDER = "gitlab"


def verify_gitlab_token(expected: str, header: str | None) -> bool:
    """Whether the X-Gitlab-Token header carries the configured secret token (compared in constant time).

    A missing header is False; an empty expected token is a configuration error and raises ValueError.
    """
    if not expected:
        raise ValueError("the GitLab webhook token is empty")
    return header is not None and hmac.compare_digest(expected.encode(), header.encode())


def _carries_token(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    return verify_gitlab_token(secret, headers.get("x-gitlab-token"))


def _pushes(payload: Payload, *, delivery_id: str | None) -> list[GitPush]:
    # Deferred for cold start: the payload's models load pydantic, which the webhook, verifying only, never needs.
    from promotions.sources.gitlab_push import parse_gitlab_push

    return [parse_gitlab_push(payload, delivery_id=delivery_id)]


SOURCE = EventSource(
    name=PROVIDER,
    arrival=WebhookRoute(
        event_header="X-Gitlab-Event",
        delivery_header="X-Gitlab-Event-UUID",
        push_events=frozenset({"Push Hook", "Tag Push Hook"}),
        verify=_carries_token,
        secret_entry=PROVIDER,
    ),
    parse=_pushes,
)
