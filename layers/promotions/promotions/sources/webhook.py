"""A webhook delivery as a Git provider sends it: authenticated over its raw bytes first, then read.

Nothing in a request is interpreted before its signature (GitHub, Bitbucket Cloud) or token (GitLab) is
checked, except undoing API Gateway's base64 transport encoding, which the signature is not over. A request
that is not authentic is refused whatever it carries; an authentic one that is unusable is refused naming
what is wrong; a server without a secret for the provider is a configuration error, never the sender's.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from promotions.sources.github import verify_github_signature
from promotions.sources.gitlab import verify_gitlab_token

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
FORM_PAYLOAD_FIELD = "payload"
# Far deeper than any provider's payload, and shallow enough that the event wrapping it serialises.
MAX_JSON_DEPTH = 100
# What each provider calls a push; the bus calls them all "push".
PUSH_EVENTS = frozenset({"push", "Push Hook", "Tag Push Hook", "repo:push"})
# Event names as providers spell them ("push", "Tag Push Hook", "repo:push"), short enough for an
# EventBridge detail-type (128 characters) that prefixes the provider's name.
_EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_:. -]{0,99}")


class UnknownWebhookProvider(LookupError):
    pass


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
    """The secret each provider's webhooks are verified with, read from the secret's value: either one string
    for every provider, or a JSON object with one entry per provider ({"github": ..., "gitlab": ...,
    "bitbucket": ...}). GitLab sends its token in clear with every request, so it should not be the key that
    signs the others' deliveries."""

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

    def for_provider(self, provider: str) -> str:
        if self.shared is not None:
            if not self.shared:
                raise WebhookNotConfigured(provider, "the webhook secret (WebhookSecretArn) is empty")
            return self.shared
        secret = self.per_provider.get(provider)
        if not isinstance(secret, str) or not secret:
            raise WebhookNotConfigured(
                provider,
                f'the webhook secret (WebhookSecretArn) is a JSON object without a "{provider}" entry: add '
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


def _signature_checker(header: str) -> Callable[[str, Mapping[str, str], bytes], bool]:
    def signed(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
        return verify_github_signature(secret.encode(), body, headers.get(header))

    return signed


def _gitlab_token(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    return verify_gitlab_token(secret, headers.get("x-gitlab-token"))


@dataclass(frozen=True)
class WebhookProvider:
    name: str
    event_header: str
    delivery_header: str
    authentic: Callable[[str, Mapping[str, str], bytes], bool]

    def verified_delivery(self, headers: Mapping[str, str], body: bytes, secret: str) -> Delivery:
        """The delivery a request's headers and raw body make, once its signature is checked.

        Raises UnauthenticDelivery before anything is read, then UnusableDelivery for a body that is not a
        JSON object (or a form whose `payload` field is one) or a missing or malformed event header.
        """
        headers = {name.lower(): value for name, value in headers.items()}
        if not self.authentic(secret, headers, body):
            raise UnauthenticDelivery(
                f"{self.name}: the signature does not match the configured webhook secret"
            )
        event = self._event_name(headers.get(self.event_header.lower()))
        payload_json = _payload_json(body, headers.get("content-type"))
        return Delivery(
            provider=self.name,
            event="push" if event in PUSH_EVENTS else event,
            delivery_id=headers.get(self.delivery_header.lower()),
            payload_json=payload_json,
        )

    def _event_name(self, value: str | None) -> str:
        if value is None:
            raise UnusableDelivery(f"header {self.event_header}", "missing")
        if not _EVENT_NAME.fullmatch(value):
            raise UnusableDelivery(
                f"header {self.event_header}",
                "expected an event name (a letter, then letters, digits, '_', ':', '.', '-' or spaces; at most "
                "100 characters)",
            )
        return value


WEBHOOK_PROVIDERS = {
    provider.name: provider
    for provider in (
        WebhookProvider(
            "github", "X-GitHub-Event", "X-GitHub-Delivery", _signature_checker("x-hub-signature-256")
        ),
        WebhookProvider("gitlab", "X-Gitlab-Event", "X-Gitlab-Event-UUID", _gitlab_token),
        # Bitbucket Cloud signs as GitHub does, under the older header's name.
        WebhookProvider("bitbucket", "X-Event-Key", "X-Request-UUID", _signature_checker("x-hub-signature")),
    )
}


def webhook_provider(name: str) -> WebhookProvider:
    try:
        return WEBHOOK_PROVIDERS[name]
    except KeyError:
        raise UnknownWebhookProvider(
            f"unknown provider {name!r}; expected one of {', '.join(WEBHOOK_PROVIDERS)}"
        ) from None


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
