"""What an event source declares: how its events arrive, and how a payload becomes the domain's events.

Events arrive in one of two ways. A webhook route is an HTTP POST to /webhooks/{name}, which the webhook
function authenticates with a secret the sender shares before reading anything, and puts on the bus. A bus
rule is for an AWS service that puts its own events on the bus (ECR image pushes, CodeBuild builds): IAM
vouches for their source, so there is no secret, and ingest reads the event's detail as the payload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from promotions.source_names import SOURCE_NAME

# For types only: a push's model loads pydantic, which the webhook never needs.
if TYPE_CHECKING:
    from promotions.push import GitPush

Payload = Mapping[str, Any] | bytes | str


class EventError(ValueError):
    """A webhook payload that is not the push it should be: names the provider, the field path, the fault."""

    def __init__(self, provider: str, field: str, message: str) -> None:
        super().__init__(provider, field, message)
        self.provider = provider
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = f"{self.provider} push: {self.field}" if self.field else f"{self.provider} push"
        return f"{where}: {self.message}"


class Verify(Protocol):
    def __call__(self, secret: str, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether a request (`headers` with lower-case names, the raw `body`) carries `secret`'s proof."""
        ...


class Parse(Protocol):
    def __call__(self, payload: Payload, *, delivery_id: str | None) -> Sequence[GitPush]:
        """The domain events a payload describes (none, one or several); EventError names a bad field."""
        ...


@dataclass(frozen=True)
class WebhookRoute:
    """Deliveries POSTed to /webhooks/{name}, verified over their raw bytes before they are read."""

    event_header: str  # names the delivery's event, e.g. X-GitHub-Event
    delivery_header: str  # the delivery's unique id, e.g. X-GitHub-Delivery
    push_events: frozenset[str]  # what the provider calls the events `parse` reads; the bus calls them "push"
    verify: Verify
    # The source's entry when the webhook secret is a JSON object of one secret per source.
    secret_entry: str


@dataclass(frozen=True)
class BusRule:
    """Events an AWS service puts on the bus itself, matched by their EventBridge `source` (such as aws.ecr)."""

    source: str
    detail_types: frozenset[str]  # the detail-types `parse` reads; any other is ignored


@dataclass(frozen=True)
class EventSource:
    """One provider of events: its name (in the webhook's path, the bus event and GitPush.provider), how its
    events arrive, and how a payload becomes the domain's events."""

    name: str
    arrival: WebhookRoute | BusRule
    parse: Parse

    def __post_init__(self) -> None:
        if not SOURCE_NAME.fullmatch(self.name):
            raise ValueError(
                f"event source name {self.name!r}: expected a lowercase letter, then up to 39 lowercase "
                "letters, digits or '-'"
            )
