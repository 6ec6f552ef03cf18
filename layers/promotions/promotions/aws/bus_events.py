"""Events on the bus as ingest reads them from its queue: EventBridge's envelope, and the detail the webhook
function writes (promotions.aws.webhook_payloads, which loads no pydantic) for a delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from promotions.push import SourceName


class BusEvent(BaseModel):
    """An event as the bus's rule delivers it to the queue: the fields EventBridge sets on every event.

    Powertools' EventBridgeModel reads the same, but its module imports every model of Powertools' parser, a
    good part of ingest's cold start."""

    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any]
    replay_name: str | None = Field(default=None, alias="replay-name")


class PayloadLocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str


class GitWebhook(BaseModel):
    """The detail the webhook function puts on the bus: a provider's delivery, with its payload or where the
    payload is kept."""

    model_config = ConfigDict(populate_by_name=True)

    provider: SourceName  # the event source that received it (promotions.sources knows which there are)
    event: str
    delivery: str | None = None
    payload: dict[str, Any] | None = None
    payload_location: PayloadLocation | None = Field(default=None, alias="payloadLocation")

    @model_validator(mode="after")
    def _payload_or_location(self) -> GitWebhook:
        if (self.payload is None) == (self.payload_location is None):
            raise ValueError("a webhook event carries either payload or payloadLocation")
        return self
