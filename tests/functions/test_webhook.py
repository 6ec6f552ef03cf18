"""The webhook function: real API Gateway HTTP API events (upstream fixture shape), signatures, the bus."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import uuid
from pathlib import Path

import boto3
import pytest
from pydantic import ValidationError

from promotions.aws.webhook_payloads import GitWebhook, WebhookPayloads

REPO = Path(__file__).resolve().parents[2]
SECRET = "It's a Secret to Everybody"
PAYLOAD_BUCKET = "promotions-webhook-payloads"


class Context:
    function_name = "webhook"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:webhook"
    memory_limit_in_mb = 128
    aws_request_id = "req-1"
    log_group_name = log_stream_name = "webhook"

    def get_remaining_time_in_millis(self):
        return 10_000


@pytest.fixture
def webhook(aws, monkeypatch):
    """The handler module on moto, with a bus whose events land in a queue the test reads."""
    secret_name = f"promotions-webhook-{uuid.uuid4()}"  # Powertools caches secrets by name per process
    boto3.client("secretsmanager").create_secret(Name=secret_name, SecretString=SECRET)
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name="promotions")
    queue = sqs.create_queue(QueueName="ingest")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all",
        EventBusName="promotions",
        EventPattern=json.dumps({"source": ["promotions.webhooks"]}),
    )
    events.put_targets(Rule="all", EventBusName="promotions", Targets=[{"Id": "q", "Arn": queue_arn}])
    boto3.client("s3").create_bucket(Bucket=PAYLOAD_BUCKET)
    monkeypatch.setenv("WEBHOOK_PAYLOADS_BUCKET", PAYLOAD_BUCKET)
    monkeypatch.setenv("EVENT_BUS_NAME", "promotions")
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", secret_name)
    spec = importlib.util.spec_from_file_location(
        f"webhook_app_{uuid.uuid4().hex}", REPO / "functions" / "webhook" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def delivered():
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    yield module, delivered


def http_event(upstream_events, provider: str, body: str, headers: dict[str, str]) -> dict:
    event = json.loads((upstream_events / "apigw-http-api-v2-event.json").read_text())
    path = f"/webhooks/{provider}"
    event.update(
        rawPath=path,
        routeKey="POST /webhooks/{provider}",
        body=body,
        isBase64Encoded=False,
        headers={name.lower(): value for name, value in headers.items()},
        pathParameters={"provider": provider},
    )
    event["requestContext"]["http"].update(method="POST", path=path)
    return event


def signed(body: str) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()


def test_a_signed_github_push_goes_on_the_bus(webhook, upstream_events):
    module, delivered = webhook
    body = (upstream_events / "github-push.json").read_text()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e", "X-Hub-Signature-256": signed(body)}

    response = module.handler(http_event(upstream_events, "github", body, headers), Context())

    assert response["statusCode"] == 202
    [envelope] = delivered()
    assert envelope["source"] == "promotions.webhooks" and envelope["detail-type"] == "github push"
    assert envelope["detail"]["delivery"] == "72d3162e"
    assert envelope["detail"]["payload"] == json.loads(body)


def test_the_documented_signature_vector_is_accepted(webhook, upstream_events):
    module, delivered = webhook
    example = json.loads((upstream_events / "github-webhook-signature-example.json").read_text())
    body = json.dumps({"zen": example["payload"]})
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": signed(body)}
    assert (
        signed(example["payload"]) == example["headers"]["X-Hub-Signature-256"]
    )  # our signing matches GitHub's
    assert module.handler(http_event(upstream_events, "github", body, headers), Context())["statusCode"] == 202


def test_a_wrong_signature_is_refused_and_nothing_reaches_the_bus(webhook, upstream_events):
    module, delivered = webhook
    body = (upstream_events / "github-push.json").read_text()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signed(body + " ")}
    response = module.handler(http_event(upstream_events, "github", body, headers), Context())
    assert response["statusCode"] == 401
    assert delivered() == []


def test_a_gitlab_push_with_its_token_and_an_unknown_provider(webhook, upstream_events):
    module, delivered = webhook
    body = (upstream_events / "gitlab-push.json").read_text()
    accepted = module.handler(
        http_event(upstream_events, "gitlab", body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}),
        Context(),
    )
    refused = module.handler(
        http_event(upstream_events, "gitlab", body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"}),
        Context(),
    )
    unknown = module.handler(http_event(upstream_events, "gitea", body, {}), Context())
    assert (accepted["statusCode"], refused["statusCode"], unknown["statusCode"]) == (202, 401, 404)
    [envelope] = delivered()
    assert envelope["detail-type"] == "gitlab push" and envelope["detail"]["event"] == "push"


def test_a_push_too_large_for_an_event_travels_by_reference_and_reads_back_whole(webhook, upstream_events):
    """EventBridge takes 256 KB per event: the payload waits in the bucket and the event says where."""
    module, delivered = webhook
    payload = json.loads((upstream_events / "github-push.json").read_text())
    payload["head_commit"]["message"] = "A long story\n" + "x" * (300 * 1024)
    body = json.dumps(payload)
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "big-1", "X-Hub-Signature-256": signed(body)}

    response = module.handler(http_event(upstream_events, "github", body, headers), Context())

    assert response["statusCode"] == 202
    [envelope] = delivered()
    detail = envelope["detail"]
    assert "payload" not in detail
    assert detail["payloadLocation"]["bucket"] == PAYLOAD_BUCKET
    assert len(json.dumps(envelope)) < 256 * 1024
    webhook_event = GitWebhook.model_validate(detail)
    assert WebhookPayloads(boto3.client("s3"), PAYLOAD_BUCKET).payload_of(webhook_event) == payload


@pytest.mark.parametrize(
    "detail",
    [
        {"provider": "github", "event": "push"},
        {"provider": "github", "event": "push", "payload": {}, "payloadLocation": {"bucket": "b", "key": "k"}},
    ],
)
def test_an_event_must_carry_its_payload_or_its_location_but_not_both(detail):
    with pytest.raises(ValidationError, match="either payload or payloadLocation"):
        GitWebhook.model_validate(detail)
