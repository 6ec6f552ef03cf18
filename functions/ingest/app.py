"""SQS batch of events (EventBridge envelopes): each source parses its pushes; start the releases they trigger.

Every event comes to one logged outcome (`outcome` in the log line, with the SQS message id): its pushes
started releases, or were ignored and why; or it failed. A failure that may pass (promotions.errors) is
reported as a batch item failure and SQS delivers the event again; any other failure can never succeed, and
the event goes to the dead-letter queue at once with its reason.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.aws.bus_events import BusEvent, GitWebhook
from promotions.aws.webhook_payloads import WebhookPayloads
from promotions.errors import failure_reason, is_transient
from promotions.runtime import services, traced
from promotions.sources.registry import WEBHOOK_BUS_SOURCE, bus_source, event_source

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from promotions.push import GitPush
    from promotions.release.start import PushOutcome

logger = Logger()
metrics = Metrics()
# A batch whose every record failed is answered like any other: only the transient failures go back to SQS.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


# Clients are made at first use, not at import, boto3 imported with the first: each loads its service's model,
# and the dead-letter queue's is needed only by an event that can never succeed.
@functools.cache
def aws_client(service: str) -> Any:
    import boto3

    return boto3.client(service)


@functools.cache
def payloads() -> WebhookPayloads:
    return WebhookPayloads(aws_client("s3"), os.environ.get("WEBHOOK_PAYLOADS_BUCKET"))


def log_outcome(outcome: PushOutcome, *, replayed: bool) -> None:
    if outcome.ignored_because is not None:
        logger.info(
            "push ignored",
            extra={"outcome": "ignored", "reason": outcome.ignored_because, "replayed": replayed},
        )
    else:
        logger.info(
            "push triggered releases",
            extra={"outcome": "started", "releases": list(outcome.release_ids), "replayed": replayed},
        )


def replay(response: PushOutcome, idempotent_data: DataRecord) -> PushOutcome:
    """A push delivered again: its first outcome stands, logged again and counted once. The parameters are
    named as Powertools' IdempotentHookFunction names them."""
    log_outcome(response, replayed=True)
    return response


# Powertools' idempotency utility is imported at first use, and its DynamoDB client made then: it imports boto3
# and loads DynamoDB's service model, which is most of what a cold start would otherwise import.
@functools.cache
def idempotency() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[repo_url, ref, after]", raise_on_no_idempotency_key=True, response_hook=replay
    )


@functools.cache
def start_once_per_push() -> Callable[..., PushOutcome]:
    """start_for_push, made idempotent per push (its key names the function, as its decorator would)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

    from promotions.release.start import PushOutcome

    # Stored as a model, never as an empty result: Powertools replays an empty one as None.
    return idempotent_function(
        start_for_push,
        data_keyword_argument="push",
        config=idempotency(),
        persistence_store=DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"]),
        output_serializer=PydanticSerializer(PushOutcome),
    )


def start_for_push(push: GitPush) -> PushOutcome:
    # Deferred for cold start: starting releases loads the configuration's models, the edits and the release
    # store, which an event ignored before its pushes are read (not a push, no ref updated) never needs.
    from promotions.release.start import start_releases

    parts = services()
    outcome = start_releases(push, parts.configs, parts.store, parts.executions, parts.remote)
    metrics.add_metric(name="ReleasesStarted", unit=MetricUnit.Count, value=len(outcome.release_ids))
    log_outcome(outcome, replayed=False)
    return outcome


def record_handler(record: SQSRecord) -> None:
    with logger.append_context_keys(message_id=record.message_id):
        try:
            handle(record)
        except Exception as error:
            reason = failure_reason(error)
            if is_transient(error):
                logger.warning(
                    "event failed; SQS delivers it again", extra={"outcome": "retried", "reason": reason}
                )
                raise
            dead_letter(record, reason, error)


def handle(record: SQSRecord) -> None:
    """Hands the event to the source it came from: a webhook's (promotions.webhooks) by the provider the
    detail names, any other by its EventBridge source."""
    envelope = BusEvent.model_validate_json(record.body)
    if envelope.source == WEBHOOK_BUS_SOURCE:
        webhook = GitWebhook.model_validate(envelope.detail)
        source = event_source(webhook.provider)
        if webhook.event != "push":
            return ignore(f"a {source.name} {webhook.event} event is not a push")
        pushes = source.parse(payloads().payload_of(webhook), delivery_id=webhook.delivery)
    else:
        source, rule = bus_source(envelope.source)
        if envelope.detail_type not in rule.detail_types:
            return ignore(f"a {source.name} {envelope.detail_type} event is not one it reads")
        pushes = source.parse(envelope.detail, delivery_id=envelope.id)
    # An event may describe several pushes (a Bitbucket push updating several refs), or none.
    if not pushes:
        return ignore("the push updates no ref")
    for push in pushes:
        with logger.append_context_keys(repo=push.repo_url, ref=push.ref, after=push.after):
            start_once_per_push()(push=push)


def ignore(reason: str) -> None:
    logger.info("event ignored", extra={"outcome": "ignored", "reason": reason})


def dead_letter(record: SQSRecord, reason: str, error: Exception) -> None:
    logger.error(
        "event parked in the dead-letter queue",
        extra={"outcome": "dead-lettered", "reason": reason},
        exc_info=error,
    )
    metrics.add_metric(name="EventsDeadLettered", unit=MetricUnit.Count, value=1)
    aws_client("sqs").send_message(
        QueueUrl=os.environ["DEAD_LETTER_QUEUE_URL"],
        MessageBody=record.body,
        MessageAttributes={
            # SQS caps an attribute at 256 KiB with the body; a reason longer than a page helps nobody.
            "reason": {"DataType": "String", "StringValue": reason[:4000]},
            "sourceMessageId": {"DataType": "String", "StringValue": record.message_id},
        },
    )


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    idempotency().register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
