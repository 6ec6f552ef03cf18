"""Thousands of mutated deliveries through the webhook handler: every one is answered on purpose.

Real push payloads of each provider are reshaped, corrupted, re-encoded, form-encoded and sent with or without
base64, with good and bad signatures and headers. Whatever arrives, the answer is 202 (and the event on the
bus carries exactly the JSON sent), 400 naming what is wrong, 401 or 404, never an unhandled error; and
nothing but a 202 puts anything on the bus.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 2000
MAX_EVENT_BYTES = 256 * 1024  # EventBridge's limit on one entry

# CI runs the same examples every time, so a red build can be reproduced and is not a roll of the dice.
settings.register_profile("webhook-ci", derandomize=True)
PROFILE = settings.get_profile("webhook-ci") if os.environ.get("CI") == "true" else settings.default

PAYLOAD_FILES = {
    "github": [
        "github-push.json",
        "github-push-merge-to-master.json",
        "github-push-tag-created.json",
        "github-push-tag-deleted.json",
    ],
    "gitlab": ["gitlab-push.json", "gitlab-push-docs-example.json", "gitlab-tag-push-docs-example.json"],
    "bitbucket": ["bitbucket-cloud-repo-push.json"],
}
# Each provider's event header and how it names a push (which the bus calls "push").
EVENT_HEADERS = {
    "github": ("X-GitHub-Event", "push"),
    "gitlab": ("X-Gitlab-Event", "Push Hook"),
    "bitbucket": ("X-Event-Key", "repo:push"),
}
DELIVERY_HEADERS = {
    "github": "X-GitHub-Delivery",
    "gitlab": "X-Gitlab-Event-UUID",
    "bitbucket": "X-Request-UUID",
}
# What each provider calls a push; another provider's name for one is just an event name.
PUSH_EVENTS = {"github": {"push"}, "gitlab": {"Push Hook", "Tag Push Hook"}, "bitbucket": {"repo:push"}}
ANY_PUSH_EVENT = set().union(*PUSH_EVENTS.values())
JSON_CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", None]
FORM_CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=UTF-8"]
PROBLEM = re.compile(r"(body|form field \S+|header \S+): \S")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@dataclass
class Delivery:
    provider: str
    body: bytes
    headers: dict[str, str]
    base64_encoded: bool
    # What the test knows by construction:
    authentic: bool  # the signature (or GitLab token) is right for the bytes sent
    transport_intact: bool  # the event's body decodes to those bytes
    carried: Any  # the JSON document the body carries, when built from one (else the body is read as JSON)
    well_formed: bool  # a JSON object in a body of a content type providers send, with a push event header


@st.composite
def reshaped(draw, document: Any) -> Any:
    """`document` with one value somewhere in it replaced, removed, or the whole document replaced."""
    if not isinstance(document, (dict, list)) or not document or draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = draw(st.sampled_from(keys))
    copy = dict(document) if isinstance(document, dict) else list(document)
    action = draw(st.sampled_from(["descend", "descend", "replace", "remove"]))
    if action == "descend":
        copy[key] = draw(reshaped(document[key]))
    elif action == "replace":
        copy[key] = draw(json_values)
    else:
        del copy[key]
    return copy


@st.composite
def corrupted(draw, data: bytes) -> bytes:
    """`data` with bytes flipped, inserted or removed, or cut short."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif action == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
        elif action == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 16)) :]
        else:
            data = data[:at]
    return data


def often(usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` four times in five."""
    return st.integers(0, 4).flatmap(lambda roll: unusual if roll == 0 else usual)


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@st.composite
def deliveries(draw, payloads: dict[str, list[bytes]], secret: str, sign) -> Delivery:
    provider = draw(st.sampled_from([*PAYLOAD_FILES] * 6 + ["gitea"]))
    original = draw(st.sampled_from(payloads.get(provider) or payloads["github"]))
    document = json.loads(original)

    shape = draw(
        st.sampled_from(["as sent", "reshaped", "reshaped", "corrupted", "re-encoded", "form", "empty"])
    )
    content_types = JSON_CONTENT_TYPES
    carried: Any = None
    only_the_payload_field = True
    if shape == "as sent":
        body, carried = original, document
    elif shape == "reshaped":
        carried = draw(reshaped(document))
        body = json.dumps(
            carried, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2]))
        ).encode()
    elif shape == "corrupted":
        body = draw(corrupted(original))
    elif shape == "re-encoded":
        carried = {**document, "note": draw(st.text(min_size=1))}
        text = json.dumps(carried, ensure_ascii=False)
        body = draw(
            st.sampled_from([text.encode("utf-16"), text.encode("utf-32"), "\ufeff".encode() + text.encode()])
        )
    elif shape == "form":
        carried = draw(st.sampled_from([document, draw(reshaped(document))]))
        fields = [("payload", json.dumps(carried))]
        if draw(st.booleans()):
            fields.insert(
                draw(st.integers(0, 1)), (draw(st.sampled_from(["payload", "other"])), draw(st.text()))
            )
            only_the_payload_field = False
        body = urlencode(fields).encode()
        content_types = FORM_CONTENT_TYPES
    else:
        body = b""
    content_type = draw(
        often(
            st.sampled_from(content_types),
            st.sampled_from([*JSON_CONTENT_TYPES, *FORM_CONTENT_TYPES]) | st.text(),
        )
    )

    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    event_header, push_event = EVENT_HEADERS.get(provider, EVENT_HEADERS["github"])
    event_name = draw(
        often(st.just(push_event), st.sampled_from(["Tag Push Hook", "ping", None]) | st.text(max_size=200))
    )
    if event_name is not None:
        headers[event_header] = event_name
    delivery_id = draw(st.none() | st.uuids().map(str) | st.text(max_size=40))
    if delivery_id is not None:
        headers[DELIVERY_HEADERS.get(provider, "X-GitHub-Delivery")] = delivery_id
    if draw(st.booleans()):
        headers[draw(st.sampled_from(["X-Forwarded-For", "User-Agent", "X-Extra"]))] = draw(
            st.text(max_size=40)
        )

    authentic = draw(st.integers(0, 9)) < 8
    if provider == "gitlab":
        token = secret if authentic else draw(st.none() | st.sampled_from([secret + " ", secret.upper(), ""]))
        if token is not None:
            headers["X-Gitlab-Token"] = token
    else:
        name = "X-Hub-Signature-256" if provider == "github" else "X-Hub-Signature"
        signature = (
            sign(body)
            if authentic
            else draw(
                st.none()
                | st.just(sign(body + b" "))
                | st.just(sign(body, "another secret"))
                | st.just(sign(body).replace("sha256=", "sha1="))
                | st.text(max_size=80)
            )
        )
        if signature is not None:
            headers[name] = signature

    base64_encoded = not is_utf8(body) or draw(st.booleans())
    transport_intact = not (base64_encoded and draw(st.integers(0, 19)) == 0)
    well_formed = (
        isinstance(carried, dict)
        and headers.get(event_header) in ANY_PUSH_EVENT | {"ping"}
        and (content_type in JSON_CONTENT_TYPES if shape != "form" else content_type in FORM_CONTENT_TYPES)
        and only_the_payload_field
        and shape != "re-encoded"
    )
    return Delivery(
        provider, body, headers, base64_encoded, authentic, transport_intact, carried, well_formed
    )


def api_gateway_event(webhook, delivery: Delivery) -> dict:
    event = webhook.event(
        delivery.provider, delivery.body, delivery.headers, base64_encoded=delivery.base64_encoded
    )
    if not delivery.transport_intact:
        event["body"] = event["body"][:-1] + "!" if event["body"] else "!"
    return event


def sent_document(delivery: Delivery) -> Any:
    """The JSON document an accepted delivery carried."""
    if delivery.carried is not None:
        return delivery.carried
    return json.loads(delivery.body.decode("utf-8"))


def test_mutated_deliveries_are_each_answered_on_purpose(webhook, upstream_events, capsys):
    payloads = {
        provider: [(upstream_events / name).read_bytes() for name in names]
        for provider, names in PAYLOAD_FILES.items()
    }
    # Routing each event on to a queue costs moto ten times what the handler does: the entries are read as
    # the function gives them to the bus instead (the bus's own delivery is test_webhook.py's).
    boto3.client("events").remove_targets(Rule="all", EventBusName="promotions", Ids=["q"])
    answers: Counter[int] = Counter()
    validly_signed: Counter[bool] = Counter()

    @settings(
        PROFILE,
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(deliveries(payloads, webhook.secret, webhook.signed))
    def deliver(delivery: Delivery) -> None:
        response = webhook.send(api_gateway_event(webhook, delivery))
        status = response["statusCode"]
        on_the_bus = webhook.put_on_the_bus()
        answers[status] += 1
        validly_signed[delivery.authentic and delivery.transport_intact] += 1

        assert status in {202, 400, 401, 404}, response
        if status != 202:
            assert on_the_bus == []
            assert json.loads(response["body"])["message"], response
        if delivery.provider not in PAYLOAD_FILES:
            assert status == 404
        elif not delivery.transport_intact:
            assert status == 400 and json.loads(response["body"])["message"].startswith("body: ")
        elif not delivery.authentic:
            assert status == 401
        elif delivery.well_formed:
            assert status == 202, response
        if status == 400:
            assert PROBLEM.match(json.loads(response["body"])["message"]), response
        if status == 202:
            [entry] = on_the_bus
            detail = json.loads(entry["Detail"])
            event_name = delivery.headers[EVENT_HEADERS[delivery.provider][0]]
            assert entry["Source"] == "promotions.webhooks"
            assert entry["DetailType"] == f"{delivery.provider} {detail['event']}"
            assert detail["provider"] == delivery.provider
            assert detail["event"] == ("push" if event_name in PUSH_EVENTS[delivery.provider] else event_name)
            assert detail["delivery"] == delivery.headers.get(DELIVERY_HEADERS[delivery.provider])
            assert detail["payload"] == sent_document(delivery)
            assert len(json.dumps(entry)) < MAX_EVENT_BYTES

    deliver()

    with capsys.disabled():
        print(
            f"\nwebhook: {answers.total()} mutated deliveries ({validly_signed[True]} validly signed): "
            f"{answers[202]} accepted, {answers[400]} 400, {answers[401]} 401, {answers[404]} 404"
        )
    assert answers.total() >= EXAMPLES
