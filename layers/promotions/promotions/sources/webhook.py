"""A webhook delivery as a source sends it: authenticated over its raw bytes first, then read.

Nothing in a request is interpreted before the source's route has verified it (a signature over the body, or
a token), except undoing API Gateway's base64 transport encoding, which the signature is not over. A request
that is not authentic is refused whatever it carries; an authentic one that is unusable is refused naming
what is wrong; a server without a secret for the source is a configuration error, never the sender's.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from promotions.sources.event_source import WebhookRoute

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
FORM_PAYLOAD_FIELD = "payload"
# Far deeper than any provider's payload, and shallow enough that the event wrapping it serialises.
MAX_JSON_DEPTH = 100
# Event names as providers spell them ("push", "Tag Push Hook", "repo:push"), short enough for an
# EventBridge detail-type (128 characters) that prefixes the provider's name.
_EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_:. -]{0,99}")


class WebhookNotConfigured(Exception):
    """The server has no usable secret for a provider's webhooks: the operator's to fix, not the sender's."""

    def __init__(self, provider: str, remedy: str) -> None:
        super().__init__(provider, remedy)
        self.provider = provider
        self.remedy = remedy

    def __str__(self) -> str:
        return f"cannot verify {self.provider} webhooks: {self.remedy}"


class UnauthenticDelivery(Exception):
    """A request whose signature (or token) does not match the provider's secret."""


class UnusableDelivery(ValueError):
    """An authentic delivery that cannot be put on the bus: `part` names what is wrong (the body, a form
    field, a header), `problem` how."""

    def __init__(self, part: str, problem: str) -> None:
        super().__init__(part, problem)
        self.part = part
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.part}: {self.problem}"


@dataclass(frozen=True)
class WebhookSecrets:
    """The secret each source's webhooks are verified with, read from the secret's value: either one string
    for every source, or a JSON object with one entry per source (under its route's `secret_entry`:
    {"github": ..., "gitlab": ..., "bitbucket": ...}). GitLab sends its token in clear with every request, so
    it should not be the key that signs the others' deliveries."""

    shared: str | None = None
    per_provider: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, secret_value: str) -> WebhookSecrets:
        try:
            entries = json.loads(secret_value)
        except ValueError:
            entries = None
        if isinstance(entries, dict):
            return cls(per_provider=entries)
        return cls(shared=secret_value)

    def for_source(self, source: str, entry: str) -> str:
        """The secret of the source named `source`, whose entry in a JSON object of secrets is `entry`."""
        if self.shared is not None:
            if not self.shared:
                raise WebhookNotConfigured(source, "the webhook secret (WebhookSecretArn) is empty")
            return self.shared
        secret = self.per_provider.get(entry)
        if not isinstance(secret, str) or not secret:
            raise WebhookNotConfigured(
                source,
                f'the webhook secret (WebhookSecretArn) is a JSON object without a "{entry}" entry: add '
                "one (a non-empty string), or make the secret one string for every provider",
            )
        return secret


@dataclass(frozen=True)
class Delivery:
    provider: str
    event: str  # "push" for any provider's push, else the provider's own name for the event
    delivery_id: str | None
    payload_json: str  # a JSON object, as sent (for a form-encoded delivery, its payload field)


def raw_body(body: str | None, base64_encoded: bool | None) -> bytes:
    """The bytes the provider sent, from an API Gateway event's `body` and `isBase64Encoded`."""
    if not base64_encoded:
        # Text API Gateway passed through. A lone surrogate cannot have come from a request: it is kept as
        # bytes that are not UTF-8, refused once the body is read, rather than failing here.
        return (body or "").encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body or "", validate=True)
    except binascii.Error as exc:
        raise UnusableDelivery("body", f"not valid base64 although isBase64Encoded is true ({exc})") from None


def verified_delivery(
    source: str, route: WebhookRoute, headers: Mapping[str, str], body: bytes, secrets: WebhookSecrets
) -> Delivery:
    """The delivery a request to the `source`'s `route` makes of its headers and raw body, once verified.

    Raises WebhookNotConfigured when the source has no usable secret, UnauthenticDelivery before anything is
    read, then UnusableDelivery for a body that is not a JSON object (or a form whose `payload` field is one)
    or a missing or malformed event header.
    """
    secret = secrets.for_source(source, route.secret_entry)
    headers = {name.lower(): value for name, value in headers.items()}
    if not route.verify(secret, headers, body):
        raise UnauthenticDelivery(f"{source}: the signature does not match the configured webhook secret")
    event = _event_name(route.event_header, headers.get(route.event_header.lower()))
    payload_json = _payload_json(body, headers.get("content-type"))
    return Delivery(
        provider=source,
        event="push" if event in route.push_events else event,
        delivery_id=headers.get(route.delivery_header.lower()),
        payload_json=payload_json,
    )


def _event_name(header: str, value: str | None) -> str:
    if value is None:
        raise UnusableDelivery(f"header {header}", "missing")
    if not _EVENT_NAME.fullmatch(value):
        raise UnusableDelivery(
            f"header {header}",
            "expected an event name (a letter, then letters, digits, '_', ':', '.', '-' or spaces; at most "
            "100 characters)",
        )
    return value


def _payload_json(body: bytes, content_type: str | None) -> str:
    """The JSON object a body carries: the body itself, or a form's `payload` field (GitHub's other content
    type). Any content type but a form is read as JSON, as providers send it."""
    if not body:
        raise UnusableDelivery("body", "empty")
    text = _utf8(body, "body")
    if (content_type or "").partition(";")[0].strip().lower() != FORM_CONTENT_TYPE:
        return _json_object(text, "body")
    part = f"form field {FORM_PAYLOAD_FIELD}"
    # Decoded as Latin-1, which keeps every byte, so that a field that is not UTF-8 is reported as itself.
    values = [
        value
        for name, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1")
        if name == FORM_PAYLOAD_FIELD
    ]
    if len(values) != 1:
        raise UnusableDelivery(part, "missing" if not values else f"given {len(values)} times")
    return _json_object(_utf8(values[0].encode("latin-1"), part), part)


def _utf8(data: bytes, part: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnusableDelivery(
            part, f"not UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None


def _json_object(text: str, part: str) -> str:
    """`text`, once it is known to be a JSON object that serialises back (finite numbers, bounded depth)."""
    try:
        document = json.loads(text, parse_constant=_not_a_number, parse_float=_finite_float)
    except RecursionError:
        raise UnusableDelivery(part, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise UnusableDelivery(part, f"not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UnusableDelivery(part, f"expected a JSON object, got {_JSON_TYPES[type(document)]}")
    if not _nested_within(document, MAX_JSON_DEPTH):
        raise UnusableDelivery(part, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return text


_JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _not_a_number(constant: str) -> float:
    raise ValueError(f"{constant} is not a JSON number")


def _finite_float(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"{number} is out of a float's range")
    return value


def _nested_within(document: Any, levels: int) -> bool:
    layer = [document]
    for _ in range(levels):
        layer = [
            child
            for value in layer
            for child in (
                value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
            )
        ]
        if not layer:
            return True
    return False
