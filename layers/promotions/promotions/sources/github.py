"""GitHub webhooks: their route and X-Hub-Signature-256. Their push payloads are read by
promotions.sources.github_push."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

from promotions.sources.event_source import EventSource, Payload, WebhookRoute

if TYPE_CHECKING:
    from promotions.push import GitPush

PROVIDER = "github"
_SIGNATURE_PREFIX = "sha256="


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
    # Deferred for cold start: the payload's models load pydantic, which the webhook, verifying only, never needs.
    from promotions.sources.github_push import parse_github_push

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
