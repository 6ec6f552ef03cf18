"""The webhook function: real API Gateway HTTP API events (upstream fixture shape), signatures, the bus."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import boto3
import pytest
from pydantic import ValidationError

from promotions.aws.bus_events import GitWebhook
from promotions.aws.webhook_payloads import WebhookPayloads

# EventBridge's limit on one entry.
MAX_EVENT_BYTES = 256 * 1024


def github_headers(webhook, body: bytes | str, **extra: str) -> dict[str, str]:
    return {"X-GitHub-Event": "push", "X-Hub-Signature-256": webhook.signed(body), **extra}


def problem(response: dict) -> str:
    return json.loads(response["body"])["message"]


def test_a_signed_github_push_goes_on_the_bus(webhook, upstream_events):
    body = (upstream_events / "github-push.json").read_text()

    response = webhook.post(
        "github", body, github_headers(webhook, body, **{"X-GitHub-Delivery": "72d3162e"})
    )

    assert response["statusCode"] == 202
    [envelope] = webhook.delivered()
    assert envelope["source"] == "promotions.webhooks" and envelope["detail-type"] == "github push"
    assert envelope["detail"]["delivery"] == "72d3162e"
    assert envelope["detail"]["payload"] == json.loads(body)


def test_the_documented_signature_vector_is_accepted(webhook, upstream_events):
    example = json.loads((upstream_events / "github-webhook-signature-example.json").read_text())
    body = json.dumps({"zen": example["payload"]})
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": webhook.signed(body)}
    assert (
        webhook.signed(example["payload"]) == example["headers"]["X-Hub-Signature-256"]
    )  # our signing matches GitHub's
    assert webhook.post("github", body, headers)["statusCode"] == 202


def test_a_wrong_signature_is_refused_and_nothing_reaches_the_bus(webhook, upstream_events):
    body = (upstream_events / "github-push.json").read_text()
    response = webhook.post("github", body, github_headers(webhook, body + " "))
    assert response["statusCode"] == 401
    assert webhook.delivered() == []


def test_a_gitlab_push_with_its_token_and_an_unknown_provider(webhook, upstream_events):
    body = (upstream_events / "gitlab-push.json").read_text()
    accepted = webhook.post("gitlab", body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": webhook.secret})
    refused = webhook.post("gitlab", body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"})
    unknown = webhook.post("gitea", body, {})
    assert (accepted["statusCode"], refused["statusCode"], unknown["statusCode"]) == (202, 401, 404)
    [envelope] = webhook.delivered()
    assert envelope["detail-type"] == "gitlab push" and envelope["detail"]["event"] == "push"


def test_a_push_too_large_for_an_event_travels_by_reference_and_reads_back_whole(webhook, upstream_events):
    """EventBridge takes 256 KB per event: the payload waits in the bucket and the event says where."""
    payload = json.loads((upstream_events / "github-push.json").read_text())
    payload["head_commit"]["message"] = "A long story\n" + "x" * (300 * 1024)
    body = json.dumps(payload)

    response = webhook.post("github", body, github_headers(webhook, body, **{"X-GitHub-Delivery": "big-1"}))

    assert response["statusCode"] == 202
    [envelope] = webhook.delivered()
    detail = envelope["detail"]
    assert "payload" not in detail
    assert detail["payloadLocation"]["bucket"] == webhook.payload_bucket
    assert len(json.dumps(envelope)) < MAX_EVENT_BYTES
    webhook_event = GitWebhook.model_validate(detail)
    assert WebhookPayloads(boto3.client("s3"), webhook.payload_bucket).payload_of(webhook_event) == payload


def test_a_payload_whose_event_would_outgrow_its_body_travels_by_reference(webhook, upstream_events):
    """The event is JSON with every non-ASCII character escaped (six bytes for two): a body under the
    inline limit can make an event over EventBridge's, so the event's own size decides."""
    payload = json.loads((upstream_events / "github-push.json").read_text())
    payload["head_commit"]["message"] = "é" * (90 * 1024)
    body = json.dumps(payload, ensure_ascii=False).encode()

    assert webhook.post("github", body, github_headers(webhook, body))["statusCode"] == 202

    [envelope] = webhook.delivered()
    assert len(json.dumps(envelope)) < MAX_EVENT_BYTES
    webhook_event = GitWebhook.model_validate(envelope["detail"])
    assert WebhookPayloads(boto3.client("s3"), webhook.payload_bucket).payload_of(webhook_event) == payload


def test_a_form_encoded_github_delivery_goes_on_the_bus_as_the_json_it_carries(webhook, upstream_events):
    """GitHub's other content type: the JSON document is the `payload` form field, and the form is signed."""
    payload = json.loads((upstream_events / "github-push.json").read_text())
    body = urlencode({"payload": json.dumps(payload)})
    headers = github_headers(webhook, body, **{"Content-Type": "application/x-www-form-urlencoded"})

    assert webhook.post("github", body, headers)["statusCode"] == 202

    [envelope] = webhook.delivered()
    assert envelope["detail"]["payload"] == payload


def test_a_base64_encoded_body_is_verified_over_the_bytes_it_decodes_to(webhook, upstream_events):
    body = (upstream_events / "github-push.json").read_bytes()

    response = webhook.post("github", body, github_headers(webhook, body), base64_encoded=True)

    assert response["statusCode"] == 202
    [envelope] = webhook.delivered()
    assert envelope["detail"]["payload"] == json.loads(body)


@pytest.mark.parametrize(
    ("body", "content_type", "named"),
    [
        (b"", "application/json", "body"),
        (b"\xff\xfe{}", "application/json", "body"),
        (b'{"ref": "refs/heads/main"', "application/json", "body"),
        (b"[1, 2]", "application/json", "body"),
        (b'{"after": NaN}', "application/json", "body"),
        (b'{"size": 1e999}', "application/json", "body"),
        (b"[" * 100_000, "application/json", "body"),
        (b"ref=refs%2Fheads%2Fmain", "application/x-www-form-urlencoded", "form field payload"),
        (b"payload=%7B%7D&payload=%7B%7D", "application/x-www-form-urlencoded", "form field payload"),
        (b"payload=%FF", "application/x-www-form-urlencoded", "form field payload"),
    ],
    ids=[
        "empty",
        "not UTF-8",
        "truncated",
        "array",
        "NaN",
        "overflowing number",
        "nested too deep",
        "form without payload",
        "form with two payloads",
        "form payload not UTF-8",
    ],
)
def test_a_signed_body_that_is_not_a_json_document_is_a_400_naming_what_is_wrong(
    webhook, body, content_type, named
):
    response = webhook.post(
        "github", body, github_headers(webhook, body, **{"Content-Type": content_type}), base64_encoded=True
    )

    assert response["statusCode"] == 400
    assert problem(response).startswith(f"{named}: ")
    assert webhook.delivered() == []


def test_a_body_that_is_not_base64_when_the_event_says_it_is_is_a_400(webhook):
    event = webhook.event("github", "not base64!", github_headers(webhook, b"{}"))
    event["isBase64Encoded"] = True

    response = webhook.send(event)

    assert response["statusCode"] == 400
    assert problem(response).startswith("body: ")
    assert webhook.delivered() == []


def test_a_text_body_with_a_lone_surrogate_is_refused_not_failed_on(webhook):
    """No request can carry one, but an event can: it is bytes that are not UTF-8, signed or not."""
    body = '{"ref": "\ud800"}'
    raw = body.encode("utf-8", "surrogatepass")

    signed = webhook.post("github", body, github_headers(webhook, raw))
    unsigned = webhook.post("github", body, {"X-GitHub-Event": "push"})

    assert (signed["statusCode"], unsigned["statusCode"]) == (400, 401)
    assert problem(signed).startswith("body: not UTF-8")
    assert webhook.delivered() == []


def test_an_unsigned_body_that_is_not_utf8_is_refused_before_it_is_read(webhook):
    response = webhook.post("github", b"\xff\xfe\xfd", {"X-GitHub-Event": "push"}, base64_encoded=True)
    assert response["statusCode"] == 401
    assert webhook.delivered() == []


def test_a_delivery_without_its_event_header_is_a_400(webhook, upstream_events):
    body = (upstream_events / "bitbucket-cloud-repo-push.json").read_text()

    response = webhook.post("bitbucket", body, {"X-Hub-Signature": webhook.signed(body)})

    assert response["statusCode"] == 400
    assert problem(response).startswith("header X-Event-Key: ")
    assert webhook.delivered() == []


PER_PROVIDER = {"github": "github's secret", "gitlab": "gitlab's token", "bitbucket": "bitbucket's secret"}


@pytest.mark.parametrize("webhook_secret", [json.dumps(PER_PROVIDER)])
def test_each_provider_may_have_its_own_secret(webhook, upstream_events):
    """GitLab sends its token in clear in every request: it must not be the key that signs GitHub's."""
    github = (upstream_events / "github-push.json").read_text()
    gitlab = (upstream_events / "gitlab-push.json").read_text()
    bitbucket = (upstream_events / "bitbucket-cloud-repo-push.json").read_text()

    statuses = [
        webhook.post(
            "github",
            github,
            {"X-GitHub-Event": "push", "X-Hub-Signature-256": webhook.signed(github, PER_PROVIDER["github"])},
        )["statusCode"],
        webhook.post(
            "gitlab", gitlab, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": PER_PROVIDER["gitlab"]}
        )["statusCode"],
        webhook.post(
            "bitbucket",
            bitbucket,
            {
                "X-Event-Key": "repo:push",
                "X-Hub-Signature": webhook.signed(bitbucket, PER_PROVIDER["bitbucket"]),
            },
        )["statusCode"],
        webhook.post(
            "github",
            github,
            {"X-GitHub-Event": "push", "X-Hub-Signature-256": webhook.signed(github, PER_PROVIDER["gitlab"])},
        )["statusCode"],
        webhook.post(
            "gitlab", gitlab, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": PER_PROVIDER["github"]}
        )["statusCode"],
    ]

    assert statuses == [202, 202, 202, 401, 401]
    assert [envelope["detail"]["provider"] for envelope in webhook.delivered()] == [
        "github",
        "gitlab",
        "bitbucket",
    ]


@pytest.mark.parametrize("webhook_secret", [None, json.dumps({"github": PER_PROVIDER["github"]})])
def test_a_missing_webhook_secret_is_a_500_and_the_log_says_what_to_set(webhook, upstream_events, caplog):
    body = (upstream_events / "gitlab-push.json").read_text()

    response = webhook.post("gitlab", body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "anything"})

    assert response["statusCode"] == 500
    [line] = [
        record.getMessage()
        for record in caplog.records
        if record.name == webhook.module.logger.name and record.levelname == "ERROR"
    ]
    assert "WebhookSecretArn" in line and "gitlab" in line
    assert webhook.delivered() == []


@pytest.mark.parametrize(
    "detail",
    [
        {"provider": "github", "event": "push"},
        {
            "provider": "github",
            "event": "push",
            "payload": {},
            "payloadLocation": {"bucket": "b", "key": "k"},
        },
    ],
)
def test_an_event_must_carry_its_payload_or_its_location_but_not_both(detail):
    with pytest.raises(ValidationError, match="either payload or payloadLocation"):
        GitWebhook.model_validate(detail)
