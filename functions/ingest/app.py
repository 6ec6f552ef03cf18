"""SQS batch of Git events (EventBridge envelopes): normalise each push and start the releases it triggers.

An event that can never become a release (malformed, unknown provider, no version to read, no valid
configuration) goes to the dead-letter queue with its reason at once; anything else that fails is
reported as a batch item failure, retried by SQS, and redriven to the same queue when retries run out.
"""

import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser import ValidationError
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.aws.webhook_payloads import GitWebhook, WebhookPayloads
from promotions.config import ConfigError
from promotions.config_repository import NoValidConfiguration
from promotions.edits import EditError
from promotions.push import GitPush
from promotions.release.start import VersionNotFound, start_releases
from promotions.runtime import services
from promotions.sources import EventError, parse_pushes

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
idempotency = IdempotencyConfig(event_key_jmespath="[repo_url, ref, after]", raise_on_no_idempotency_key=True)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
sqs = boto3.client("sqs")
payloads = WebhookPayloads(boto3.client("s3"), os.environ.get("WEBHOOK_PAYLOADS_BUCKET"))

# Errors that retrying cannot fix: the event is parked with its reason instead.
UNPROCESSABLE = (ValidationError, EventError, VersionNotFound, NoValidConfiguration, ConfigError, EditError)


@idempotent_function(data_keyword_argument="push", config=idempotency, persistence_store=persistence)
def start_for_push(push: GitPush) -> list[str]:
    parts = services()
    return start_releases(push, parts.configs, parts.store, parts.executions, parts.remote)


def record_handler(record: SQSRecord) -> None:
    try:
        webhook = GitWebhook.model_validate(EventBridgeModel.model_validate_json(record.body).detail)
        if webhook.event != "push":
            logger.info("event ignored", extra={"provider": webhook.provider, "event": webhook.event})
            return
        # One Bitbucket push may update several refs; each is a push of its own.
        payload = payloads.payload_of(webhook)
        for push in parse_pushes(webhook.provider, payload, delivery_id=webhook.delivery):
            with logger.append_context_keys(repo=push.repo_url, ref=push.ref, after=push.after):
                releases = start_for_push(push=push)
            metrics.add_metric(name="ReleasesStarted", unit=MetricUnit.Count, value=len(releases))
    except UNPROCESSABLE as error:
        dead_letter(record, f"{type(error).__name__}: {error}")


def dead_letter(record: SQSRecord, reason: str) -> None:
    logger.error(
        "event parked in the dead-letter queue", extra={"message_id": record.message_id, "reason": reason}
    )
    metrics.add_metric(name="EventsDeadLettered", unit=MetricUnit.Count, value=1)
    sqs.send_message(
        QueueUrl=os.environ["DEAD_LETTER_QUEUE_URL"],
        MessageBody=record.body,
        MessageAttributes={
            # SQS caps an attribute at 256 KiB with the body; a reason longer than a page helps nobody.
            "reason": {"DataType": "String", "StringValue": reason[:4000]},
            "sourceMessageId": {"DataType": "String", "StringValue": record.message_id},
        },
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
