"""The webhook function called in-process on moto, with real API Gateway HTTP API events and a bus to read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

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


class Webhook:
    """Posts deliveries to the handler as API Gateway would, and reads what reached the bus."""

    secret = SECRET
    payload_bucket = PAYLOAD_BUCKET

    @staticmethod
    def signed(body: bytes | str, secret: str = SECRET) -> str:
        """The X-Hub-Signature-256 value GitHub (and Bitbucket Cloud) send for `body`."""
        data = body.encode() if isinstance(body, str) else body
        return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()

    def __init__(self, module: Any, upstream_events: Path, queue_url: str) -> None:
        self.module = module
        self._event_shape = json.loads((upstream_events / "apigw-http-api-v2-event.json").read_text())
        self._queue_url = queue_url
        self._sqs = boto3.client("sqs")
        self._entries: list[dict] = []
        module.events.meta.events.register(
            "before-parameter-build.events.PutEvents",
            lambda params, **_: self._entries.extend(json.loads(json.dumps(params["Entries"]))),
        )

    def event(
        self,
        provider: str,
        body: bytes | str | None,
        headers: dict[str, str],
        *,
        base64_encoded: bool = False,
    ) -> dict:
        """An HTTP API v2 event for a POST to /webhooks/`provider`; bytes are sent base64-encoded, as API
        Gateway sends a binary body, unless `base64_encoded` is False (then they must be UTF-8)."""
        event = json.loads(json.dumps(self._event_shape))
        path = f"/webhooks/{provider}"
        if isinstance(body, bytes):
            body = base64.b64encode(body).decode() if base64_encoded else body.decode()
        event.update(
            rawPath=path,
            routeKey="POST /webhooks/{provider}",
            body=body,
            isBase64Encoded=base64_encoded,
            headers={name.lower(): value for name, value in headers.items()},
            pathParameters={"provider": provider},
        )
        event["requestContext"]["http"].update(method="POST", path=path)
        return event

    def post(
        self,
        provider: str,
        body: bytes | str | None,
        headers: dict[str, str],
        *,
        base64_encoded: bool = False,
    ) -> dict:
        return self.send(self.event(provider, body, headers, base64_encoded=base64_encoded))

    def send(self, event: dict) -> dict:
        return self.module.handler(event, Context())

    def put_on_the_bus(self) -> list[dict]:
        """The entries the function has given the bus since the last call, as it gave them: faster to read
        than `delivered`, for the many requests of a property test."""
        entries, self._entries = self._entries, []
        return entries

    def delivered(self) -> list[dict]:
        """The events the bus passed on since the last call (each read once)."""
        messages = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if messages:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
            )
        return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def webhook_secret() -> str | None:
    """The webhook secret's value in Secrets Manager; None deploys without one. Parametrize to change it."""
    return SECRET


@pytest.fixture
def webhook(aws, monkeypatch, upstream_events, webhook_secret) -> Webhook:
    """The handler module on moto, with a bus whose events land in a queue the test reads."""
    if webhook_secret is None:
        monkeypatch.delenv("WEBHOOK_SECRET_ARN", raising=False)
    else:
        secret_name = f"promotions-webhook-{uuid.uuid4()}"  # Powertools caches secrets by name per process
        boto3.client("secretsmanager").create_secret(Name=secret_name, SecretString=webhook_secret)
        monkeypatch.setenv("WEBHOOK_SECRET_ARN", secret_name)
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
    spec = importlib.util.spec_from_file_location(
        f"webhook_app_{uuid.uuid4().hex}", REPO / "functions" / "webhook" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Webhook(module, upstream_events, queue)
