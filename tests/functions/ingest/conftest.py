"""The ingest function called in-process on moto: SQS records wrapping EventBridge envelopes of webhook
deliveries, against the demo's GitOps repository and configuration in local bare repositories."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from promotions import runtime
from promotions.git import Author
from promotions_local.demo import create_demo_repository, write_demo_configuration
from promotions_local.git_server import GuardedDulwichServer, create_bare_repository
from promotions_local.github_payloads import push_and_describe

REPO = Path(__file__).resolve().parents[3]
PAYLOAD_BUCKET = "promotions-webhook-payloads"
DEVELOPER = Author(name="Dana Developer", email="dana@example.invalid")
# appVersion in Chart.yaml and image.tag in values.yaml: the quoted version, comments kept.
VERSION_LINE = re.compile(r'^(\s*(?:appVersion|tag):\s*)"[^"]*"', re.MULTILINE)


class Context:
    function_name = "ingest"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest"
    memory_limit_in_mb = 512
    aws_request_id = "req-1"
    log_group_name = log_stream_name = "ingest"

    def get_remaining_time_in_millis(self):
        return 60_000


class _LineCollector(logging.Handler):
    """Keeps the function's log lines as Powertools formats them (JSON, with the keys it appended)."""

    def __init__(self, lines: list[str], formatter: logging.Formatter) -> None:
        super().__init__()
        self._lines = lines
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self._lines.append(self.format(record))


@dataclass
class Delivered:
    """What became of the records of one batch, by message id."""

    failed: set[str]  # reported as batch item failures: SQS delivers them again
    outcomes: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    dead_letters: dict[str, str] = field(default_factory=dict)  # message id -> reason
    metrics: list[dict[str, Any]] = field(default_factory=list)


class Ingest:
    """Hands batches to the handler as the SQS event source mapping does, and reads what became of them."""

    payload_bucket = PAYLOAD_BUCKET

    def __init__(
        self,
        module: Any,
        gitops_url: str,
        state_machine_arn: str,
        dead_letter_queue: str,
        capsys,
        upstream_events: Path,
    ) -> None:
        self.module = module
        self.gitops_url = gitops_url
        self.state_machine_arn = state_machine_arn
        self._dead_letter_queue = dead_letter_queue
        self._capsys = capsys
        self._log_lines: list[str] = []
        self._log_capture = _LineCollector(self._log_lines, module.logger.registered_formatter)
        module.logger.addHandler(self._log_capture)
        self._record_shape = json.loads(
            (upstream_events / "sqs-wrapping-eventbridge-event.json").read_text()
        )["Records"][0]
        self._envelope_shape = json.loads((upstream_events / "eventbridge-event.json").read_text())
        self._sqs = boto3.client("sqs")
        self._stepfunctions = boto3.client("stepfunctions")

    def envelope(self, detail: Any) -> dict[str, Any]:
        """The EventBridge event the webhook function's delivery becomes on the bus."""
        return {
            **self._envelope_shape,
            "id": str(uuid.uuid4()),
            "detail-type": "github push",
            "source": "promotions.webhooks",
            "resources": [],
            "detail": detail,
        }

    def record(self, body: str) -> dict[str, Any]:
        """An SQS record carrying `body`, as Lambda's event source mapping hands it over."""
        return {**self._record_shape, "messageId": str(uuid.uuid4()), "body": body}

    def record_of(self, provider: str, event: str, payload: Any, **detail: Any) -> dict[str, Any]:
        detail = {
            "provider": provider,
            "event": event,
            "delivery": str(uuid.uuid4()),
            "payload": payload,
            **detail,
        }
        return self.record(json.dumps(self.envelope(detail)))

    def deliver(self, *records: dict[str, Any]) -> Delivered:
        self._capsys.readouterr()
        self._log_lines.clear()
        response = self.module.handler({"Records": list(records)}, Context())
        delivered = Delivered(failed={failure["itemIdentifier"] for failure in response["batchItemFailures"]})
        # Metrics are printed on stdout, as Lambda wants them.
        for line in self._capsys.readouterr().out.splitlines():
            if line.startswith('{"_aws"'):
                delivered.metrics.append(json.loads(line))
        for line in self._log_lines:
            document = json.loads(line)
            if "outcome" in document:
                delivered.outcomes[document["message_id"]].append(document)
        delivered.dead_letters = self._dead_letters()
        return delivered

    def close(self) -> None:
        self.module.logger.removeHandler(self._log_capture)

    def _dead_letters(self) -> dict[str, str]:
        found = {}
        while messages := self._sqs.receive_message(
            QueueUrl=self._dead_letter_queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in messages:
                attributes = message["MessageAttributes"]
                found[attributes["sourceMessageId"]["StringValue"]] = attributes["reason"]["StringValue"]
            self._sqs.delete_message_batch(
                QueueUrl=self._dead_letter_queue,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(messages)
                ],
            )
        return found

    def started_executions(self) -> list[str]:
        """The names of the executions started: one per release."""
        paginator = self._stepfunctions.get_paginator("list_executions")
        return [
            execution["name"]
            for page in paginator.paginate(stateMachineArn=self.state_machine_arn)
            for execution in page["executions"]
        ]

    def push_version(self, version: str, *, apps=("api", "web"), message: str | None = None) -> dict:
        """Commit `version` into dev's charts and describe the push as GitHub's webhook would."""
        paths = [f"apps/{app}/dev/{name}" for app in apps for name in ("Chart.yaml", "values.yaml")]

        def bump(tip):
            return {
                path: VERSION_LINE.sub(rf'\g<1>"{version}"', tip.read(path).decode()).encode()
                for path in paths
            }

        return push_and_describe(self.gitops_url, "main", bump, message or f"Release {version}", DEVELOPER)


@pytest.fixture
def gitops(tmp_path) -> str:
    """The demo's GitOps repository served over HTTP on loopback, as a Git host serves the deployed functions."""
    (tmp_path / "repos").mkdir()
    create_demo_repository(tmp_path / "repos" / "gitops.git")
    with GuardedDulwichServer(tmp_path / "repos") as server:
        yield server.url_for("gitops.git")


@pytest.fixture
def ingest(aws, store, gitops, monkeypatch, tmp_path, capsys, upstream_events) -> Ingest:
    config_dir = write_demo_configuration(tmp_path / "config", gitops)
    create_bare_repository(
        tmp_path / "config.git",
        {path.relative_to(config_dir).as_posix(): path.read_bytes() for path in config_dir.rglob("*.yaml")},
    )
    boto3.client("dynamodb").create_table(
        TableName="idempotency",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    dead_letter_queue = boto3.client("sqs").create_queue(QueueName="events-dead-letter")["QueueUrl"]
    boto3.client("s3").create_bucket(Bucket=PAYLOAD_BUCKET)
    state_machine = boto3.client("stepfunctions").create_state_machine(
        name="release",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/release",
    )["stateMachineArn"]
    for name, value in {
        "PROMOTIONS_TABLE": "promotions-test",  # the store fixture's
        "CONFIG_REPO_URL": str(tmp_path / "config.git"),
        "CONFIG_REPO_BRANCH": "main",
        "CONFIG_PATH": "",
        "STATE_MACHINE_ARN": state_machine,
        "IDEMPOTENCY_TABLE": "idempotency",
        "DEAD_LETTER_QUEUE_URL": dead_letter_queue,
        "WEBHOOK_PAYLOADS_BUCKET": PAYLOAD_BUCKET,
        "POWERTOOLS_METRICS_NAMESPACE": "Promotions",
        # A logger of its own: Powertools keeps the first handler (and its stdout) per service name.
        "POWERTOOLS_SERVICE_NAME": f"ingest-{uuid.uuid4().hex}",
    }.items():
        monkeypatch.setenv(name, value)
    runtime.services.cache_clear()
    spec = importlib.util.spec_from_file_location(
        f"ingest_app_{uuid.uuid4().hex}", REPO / "functions" / "ingest" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    world = Ingest(module, gitops, state_machine, dead_letter_queue, capsys, upstream_events)
    yield world
    world.close()
    runtime.services.cache_clear()
