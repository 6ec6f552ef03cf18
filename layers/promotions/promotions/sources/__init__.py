"""Where events come from: one module per provider, each declaring an EventSource (how its events arrive and
how a payload becomes the domain's events), registered in promotions.sources.registry.

A provider's push parser, with its payload's pydantic models, is a module of its own (`github_push`, ...),
imported when a push is first parsed: the webhook function, which only verifies deliveries, loads none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promotions.lazy_exports import lazy_exports
from promotions.sources.event_source import BusRule, EventError, EventSource, Payload, WebhookRoute
from promotions.sources.github import verify_github_signature
from promotions.sources.gitlab import verify_gitlab_token
from promotions.sources.registry import (
    WEBHOOK_BUS_SOURCE,
    UnknownEventSource,
    bus_source,
    event_source,
    webhook_source,
)

if TYPE_CHECKING:
    from promotions.sources.bitbucket_push import parse_bitbucket_push, parse_bitbucket_pushes
    from promotions.sources.github_push import parse_github_push
    from promotions.sources.gitlab_push import parse_gitlab_push
else:
    # Deferred for cold start: a parser's module, and pydantic with it, loads when the parser is first asked for.
    __getattr__ = lazy_exports(
        __name__,
        {
            "promotions.sources.bitbucket_push": ("parse_bitbucket_push", "parse_bitbucket_pushes"),
            "promotions.sources.github_push": ("parse_github_push",),
            "promotions.sources.gitlab_push": ("parse_gitlab_push",),
        },
    )

__all__ = [
    "WEBHOOK_BUS_SOURCE",
    "BusRule",
    "EventError",
    "EventSource",
    "Payload",
    "UnknownEventSource",
    "WebhookRoute",
    "bus_source",
    "event_source",
    "parse_bitbucket_push",
    "parse_bitbucket_pushes",
    "parse_github_push",
    "parse_gitlab_push",
    "verify_github_signature",
    "verify_gitlab_token",
    "webhook_source",
]
