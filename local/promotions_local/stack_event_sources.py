"""Serving SQS event source mappings the way the Lambda service does.

A poller receives a batch from the queue, invokes the function through moto's Lambda Invoke API with the
event shape Lambda builds (`Records` of `aws:sqs`), then deletes what succeeded. Failed messages are made
visible again at once rather than after the queue's visibility timeout, so that a retry costs no wall
time; each failure still counts a receive, and moto moves a message to the queue's dead-letter queue on
the receive after its maxReceiveCount, as SQS does.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from promotions_local.stack_resources import SqsEventSource

logger = logging.getLogger(__name__)

# SQS hands out at most ten messages per ReceiveMessage; Lambda gathers larger batches over several calls.
_SQS_RECEIVE_LIMIT = 10
_IDLE_POLL_SECONDS = 0.05
_PENDING_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


class EventSourceDrainTimeout(TimeoutError):
    """Queues served by event source mappings still held messages when the drain's time ran out."""


def _record_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    records: dict[str, Any] = {}
    for name, attribute in attributes.items():
        record: dict[str, Any] = {}
        if "StringValue" in attribute:
            record["stringValue"] = attribute["StringValue"]
        if "BinaryValue" in attribute:
            record["binaryValue"] = base64.b64encode(attribute["BinaryValue"]).decode()
        record["stringListValues"] = attribute.get("StringListValues", [])
        record["binaryListValues"] = [
            base64.b64encode(value).decode() for value in attribute.get("BinaryListValues", [])
        ]
        record["dataType"] = attribute["DataType"]
        records[name] = record
    return records


def sqs_event(messages: Iterable[Mapping[str, Any]], source: SqsEventSource, region: str) -> dict[str, Any]:
    """The event Lambda passes to a function for a batch of messages received from SQS."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": _record_message_attributes(message.get("MessageAttributes", {})),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": source.queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def failed_message_ids(
    source: SqsEventSource, message_ids: Sequence[str], function_errored: bool, response: Any
) -> set[str]:
    """Which messages of the batch go back to the queue, by Lambda's rules for partial batch responses."""
    if function_errored:
        return set(message_ids)
    if not source.report_batch_item_failures or response is None:
        return set()
    if not isinstance(response, dict):
        logger.warning(
            "function %s returned %r, not a batch response: the whole batch failed",
            source.function_name,
            response,
        )
        return set(message_ids)
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    identifiers = [
        failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures
    ]
    if not all(isinstance(identifier, str) and identifier in message_ids for identifier in identifiers):
        logger.warning(
            "function %s reported batchItemFailures %r, not all of this batch: the whole batch failed",
            source.function_name,
            failures,
        )
        return set(message_ids)
    return {str(identifier) for identifier in identifiers}


class SqsEventSourcePoller:
    """Polls the queues of SQS event source mappings and invokes their functions, on demand or in the
    background. `client` returns a boto3 client against the local endpoint for a service name."""

    def __init__(
        self, sources: Sequence[SqsEventSource], client: Callable[[str], Any], lambda_client: Any, region: str
    ):
        self._sources = [source for source in sources if source.enabled]
        self._sqs = client("sqs")
        self._lambda = lambda_client
        self._region = region
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def running_in_background(self) -> bool:
        return bool(self._threads)

    def poll_once(self, source: SqsEventSource) -> int:
        """Receive one batch from the source's queue, invoke the function with it and settle it; returns the
        number of messages in the batch (0 when the queue had none visible)."""
        messages: list[dict[str, Any]] = []
        while len(messages) < source.batch_size:
            received = self._sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(_SQS_RECEIVE_LIMIT, source.batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages.extend(received)
        if not messages:
            return 0
        invocation = self._lambda.invoke(
            FunctionName=source.function_name,
            Payload=json.dumps(sqs_event(messages, source, self._region)).encode(),
        )
        payload = invocation["Payload"].read()
        response = json.loads(payload) if payload else None
        message_ids = [message["MessageId"] for message in messages]
        failed = failed_message_ids(source, message_ids, "FunctionError" in invocation, response)
        self._settle(source, messages, failed)
        return len(messages)

    def _settle(
        self, source: SqsEventSource, messages: Sequence[Mapping[str, Any]], failed: set[str]
    ) -> None:
        for start in range(0, len(messages), _SQS_RECEIVE_LIMIT):
            chunk = messages[start : start + _SQS_RECEIVE_LIMIT]
            succeeded = [message for message in chunk if message["MessageId"] not in failed]
            retried = [message for message in chunk if message["MessageId"] in failed]
            if succeeded:
                self._sqs.delete_message_batch(
                    QueueUrl=source.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(succeeded)
                    ],
                )
            if retried:
                self._sqs.change_message_visibility_batch(
                    QueueUrl=source.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                        for index, message in enumerate(retried)
                    ],
                )

    def _pending_queues(self) -> list[str]:
        pending = []
        for source in self._sources:
            counts = self._sqs.get_queue_attributes(
                QueueUrl=source.queue_url, AttributeNames=list(_PENDING_ATTRIBUTES)
            )
            if any(int(counts["Attributes"].get(name, 0)) for name in _PENDING_ATTRIBUTES):
                pending.append(source.queue_url)
        return pending

    def drain(self, timeout: float) -> int:
        """Poll every source until all their queues are empty (handlers may enqueue more as they run);
        returns the number of messages handled. Raises EventSourceDrainTimeout if `timeout` s pass first."""
        if self.running_in_background:
            raise RuntimeError("event source pollers run in the background; stop them before draining")
        deadline = time.monotonic() + timeout
        handled = 0
        while True:
            handled_this_round = sum(self.poll_once(source) for source in self._sources)
            handled += handled_this_round
            if handled_this_round == 0:
                pending = self._pending_queues()
                if not pending:
                    return handled
                if time.monotonic() >= deadline:
                    raise EventSourceDrainTimeout(
                        f"after {timeout} s these queues still hold messages: {', '.join(pending)}"
                    )
                time.sleep(_IDLE_POLL_SECONDS)
            elif time.monotonic() >= deadline:
                raise EventSourceDrainTimeout(
                    f"after {timeout} s the event source queues were still delivering "
                    f"({handled} handled so far)"
                )

    def start_background(self) -> None:
        if self.running_in_background:
            raise RuntimeError("event source pollers already run in the background")
        self._stop.clear()
        self._threads = [
            threading.Thread(
                target=self._poll_until_stopped,
                args=(source,),
                name=f"sqs-poller-{source.logical_id}",
                daemon=True,
            )
            for source in self._sources
        ]
        for thread in self._threads:
            thread.start()

    def stop_background(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _poll_until_stopped(self, source: SqsEventSource) -> None:
        while not self._stop.is_set():
            try:
                handled = self.poll_once(source)
            except Exception:
                # A poller that died would silently stop the flow; keep polling, as the Lambda service does.
                logger.exception("polling %s for %s failed", source.queue_url, source.function_name)
                handled = 0
            if handled == 0:
                self._stop.wait(_IDLE_POLL_SECONDS)
