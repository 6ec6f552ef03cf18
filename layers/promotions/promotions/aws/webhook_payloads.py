"""Webhook deliveries on the event bus, their payloads inline or, when too large for an event, by reference.

An EventBridge event carries at most 256 KB, and a push touching thousands of files can exceed that: such a
payload is stored in S3 and the event carries its location instead (a claim check); the ingest function reads
it back. Nothing is dropped for its size. The bucket's lifecycle rule removes payloads after the dead-letter
queue's retention, so a parked event can still be redriven.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

# For types only: the event's model loads pydantic, which the webhook function, writing events, never needs.
if TYPE_CHECKING:
    from promotions.aws.bus_events import GitWebhook

# What an event's detail may take with its payload inline: EventBridge's 256 KB for the whole entry, less
# room for the envelope.
MAX_INLINE_DETAIL_BYTES = 200 * 1024


class StoredPayloadError(LookupError):
    """The payload an event refers to is gone from the bucket, or is not a JSON object."""


class WebhookPayloads:
    """Puts deliveries in the shape GitWebhook (promotions.aws.bus_events) reads, and reads their payloads
    back. `s3` is a boto3 client."""

    def __init__(self, s3: Any, bucket: str | None) -> None:
        self._s3 = s3
        self._bucket = bucket

    def event_detail(self, provider: str, event: str, delivery: str | None, body: str) -> dict[str, Any]:
        """The event detail for a delivery whose (verified) body is `body`, a JSON document."""
        detail: dict[str, Any] = {"provider": provider, "event": event, "delivery": delivery}
        inline = {**detail, "payload": json.loads(body)}
        # Measured as the event carries it, every non-ASCII character escaped (up to six bytes for two): the
        # body's own size can be a third of that.
        if len(json.dumps(inline)) <= MAX_INLINE_DETAIL_BYTES:
            return inline
        data = body.encode()
        if not self._bucket:
            raise ValueError(
                f"a {provider} {event} payload of {len(data)} bytes is over the event size limit and "
                "no payload bucket is configured"
            )
        # Named by content, so that a redelivery of the same payload stores nothing new.
        key = f"webhooks/{provider}/{hashlib.sha256(data).hexdigest()}.json"
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType="application/json")
        return {**detail, "payloadLocation": {"bucket": self._bucket, "key": key}}

    def payload_of(self, webhook: GitWebhook) -> dict[str, Any]:
        """The delivery's payload, read back from the bucket when the event carries its location."""
        if webhook.payload is not None:
            return webhook.payload
        assert webhook.payload_location is not None
        location = webhook.payload_location
        where = f"s3://{location.bucket}/{location.key}"
        try:
            body = self._s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            raise StoredPayloadError(f"{where}: the payload is gone (removed, or never stored)") from None
        try:
            payload = json.loads(body)
        except ValueError as error:
            raise StoredPayloadError(f"{where}: the payload is not a JSON object: {error}") from None
        if not isinstance(payload, dict):
            raise StoredPayloadError(
                f"{where}: the payload is not a JSON object but a {type(payload).__name__}"
            )
        return payload
