"""Where events come from: one module per provider, each declaring an EventSource (how its events arrive and
how a payload becomes the domain's events), registered in promotions.sources.registry."""

from __future__ import annotations

from promotions.sources._payload import EventError, Payload
from promotions.sources.bitbucket import parse_bitbucket_push, parse_bitbucket_pushes
from promotions.sources.event_source import BusRule, EventSource, WebhookRoute
from promotions.sources.github import parse_github_push, verify_github_signature
from promotions.sources.gitlab import parse_gitlab_push, verify_gitlab_token
from promotions.sources.registry import (
    WEBHOOK_BUS_SOURCE,
    UnknownEventSource,
    bus_source,
    event_source,
    webhook_source,
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
