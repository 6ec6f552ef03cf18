"""Bitbucket Cloud webhooks: their route, signed as GitHub signs (X-Hub-Signature). Their `repo:push`
payloads (X-Event-Key: repo:push) are read by promotions.sources.bitbucket_push."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from promotions.sources.event_source import EventSource, Payload, WebhookRoute
from promotions.sources.github import verify_github_signature

if TYPE_CHECKING:
    from promotions.push import GitPush

PROVIDER = "bitbucket"


def _signed(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    # Bitbucket Cloud signs as GitHub does, under the older header's name.
    return verify_github_signature(secret.encode(), body, headers.get("x-hub-signature"))


def _pushes(payload: Payload, *, delivery_id: str | None) -> list[GitPush]:
    # Deferred for cold start: the payload's models load pydantic, which the webhook, verifying only, never needs.
    from promotions.sources.bitbucket_push import parse_bitbucket_pushes

    return parse_bitbucket_pushes(payload, delivery_id=delivery_id)


SOURCE = EventSource(
    name=PROVIDER,
    arrival=WebhookRoute(
        event_header="X-Event-Key",
        delivery_header="X-Request-UUID",
        push_events=frozenset({"repo:push"}),
        verify=_signed,
        secret_entry=PROVIDER,
    ),
    parse=_pushes,
)
