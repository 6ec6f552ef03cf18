"""Every event source, by name. A new provider is one module declaring its EventSource and one line here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from promotions.sources import bitbucket, github, gitlab
from promotions.sources.event_source import BusRule, EventSource, WebhookRoute

# The EventBridge source of the events the webhook function puts on the bus, whichever provider sent them.
WEBHOOK_BUS_SOURCE = "promotions.webhooks"

SOURCES: Mapping[str, EventSource] = MappingProxyType(
    {source.name: source for source in (github.SOURCE, gitlab.SOURCE, bitbucket.SOURCE)}
)


class UnknownEventSource(LookupError):
    """No registered source has that name, or none arrives that way."""


def event_source(name: str) -> EventSource:
    try:
        return SOURCES[name]
    except KeyError:
        raise UnknownEventSource(
            f"unknown event source {name!r}; expected one of {', '.join(SOURCES)}"
        ) from None


def webhook_source(name: str) -> tuple[EventSource, WebhookRoute]:
    """The source whose deliveries POST to /webhooks/`name`, with its route."""
    source = event_source(name)
    if not isinstance(source.arrival, WebhookRoute):
        raise UnknownEventSource(f"event source {name!r} takes no webhooks: its events arrive on the bus")
    return source, source.arrival


def bus_source(bus_event_source: str) -> tuple[EventSource, BusRule]:
    """The source whose events an AWS service puts on the bus under `bus_event_source` (such as aws.ecr)."""
    for source in SOURCES.values():
        if isinstance(source.arrival, BusRule) and source.arrival.source == bus_event_source:
            return source, source.arrival
    raise UnknownEventSource(f"no event source reads bus events from {bus_event_source!r}")
