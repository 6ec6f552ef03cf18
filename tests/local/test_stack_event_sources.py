"""SQS event source mappings served by the stack's poller, as the Lambda service serves them."""

import json
import threading

import pytest

from promotions_local.stack import EventSourceDrainTimeout
from promotions_local.stack_event_sources import failed_message_ids
from promotions_local.stack_resources import SqsEventSource


def deliveries(stack) -> dict[str, list[dict]]:
    """The records BatchFunction received, by message body, in the order of their receive counts."""
    table = stack.client("dynamodb")
    items = table.query(
        TableName=stack.resources["Table"].name,
        IndexName="by-kind",
        KeyConditionExpression="kind = :kind",
        ExpressionAttributeValues={":kind": {"S": "delivery"}},
    )["Items"]
    by_body: dict[str, list[dict]] = {}
    for item in items:
        record = json.loads(item["record"]["S"])
        by_body.setdefault(record["body"], []).append(record)
    for records in by_body.values():
        records.sort(key=lambda record: int(record["attributes"]["ApproximateReceiveCount"]))
    return by_body


def send(stack, body: str, **attributes) -> None:
    stack.client("sqs").send_message(
        QueueUrl=stack.resources["WorkQueue"].url,
        MessageBody=body,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )


def queue_bodies(stack, logical_id: str) -> list[str]:
    messages = stack.client("sqs").receive_message(
        QueueUrl=stack.resources[logical_id].url, MaxNumberOfMessages=10
    )
    return [message["Body"] for message in messages.get("Messages", [])]


def test_a_reported_batch_item_failure_is_retried_then_dead_lettered(fixture_stack):
    send(fixture_stack, "ok-1")
    send(fixture_stack, "fail-1")

    handled = fixture_stack.drain_event_sources(timeout=30)

    received = deliveries(fixture_stack)
    # The failure is received once per try up to maxReceiveCount (3); the next receive dead-letters it.
    assert [record["attributes"]["ApproximateReceiveCount"] for record in received["fail-1"]] == [
        "1",
        "2",
        "3",
    ]
    assert [record["attributes"]["ApproximateReceiveCount"] for record in received["ok-1"]] == ["1"]
    assert handled == 4
    assert queue_bodies(fixture_stack, "WorkQueue") == []
    assert queue_bodies(fixture_stack, "DeadLetterQueue") == ["fail-1"]


def test_records_have_the_shape_lambda_gives_them(fixture_stack, upstream_events):
    real_record = json.loads((upstream_events / "sqs-event.json").read_text())["Records"][0]
    send(fixture_stack, "shape-1", colour="blue")

    fixture_stack.drain_event_sources(timeout=30)

    record = deliveries(fixture_stack)["shape-1"][0]
    assert list(record) == list(real_record)
    assert set(real_record["attributes"]) <= set(record["attributes"])
    assert record["messageAttributes"] == {
        "colour": {
            "stringValue": "blue",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == fixture_stack.resources["WorkQueue"].arn
    assert record["awsRegion"] == "us-east-1"


def test_batches_honour_the_batch_size(fixture_stack):
    bodies = [f"batch-{index}" for index in range(7)]
    for body in bodies:
        send(fixture_stack, body)

    fixture_stack.drain_event_sources(timeout=30)

    items = fixture_stack.client("dynamodb").scan(TableName=fixture_stack.resources["Table"].name)["Items"]
    batch_of_invocation = {
        item["invocation"]["S"]: int(item["batch"]["N"])
        for item in items
        if "record" in item and json.loads(item["record"]["S"])["body"] in bodies
    }
    # BatchSize is 5: seven messages take a batch of five, then one of two.
    assert sorted(batch_of_invocation.values()) == [2, 5]


def test_a_drain_that_runs_out_of_time_says_so(fixture_stack):
    send(fixture_stack, "late-1")

    with pytest.raises(EventSourceDrainTimeout, match="still delivering"):
        fixture_stack.drain_event_sources(timeout=0)

    assert fixture_stack.drain_event_sources(timeout=30) == 0
    assert "late-1" in deliveries(fixture_stack)


def test_background_pollers_deliver_until_stopped(fixture_stack):
    delivered = threading.Event()
    fixture_stack.start_event_source_pollers()
    try:
        with pytest.raises(RuntimeError, match="run in the background"):
            fixture_stack.drain_event_sources(timeout=1)
        fixture_stack.put_events(
            [
                {
                    "EventBusName": fixture_stack.resources["Bus"].name,
                    "Source": "fixture.work",
                    "DetailType": "Job",
                    "Detail": '{"bg": 1}',
                }
            ]
        )
        for _ in range(600):
            if any('"bg": 1' in body for body in deliveries(fixture_stack)):
                delivered.set()
                break
            delivered.wait(0.05)
    finally:
        fixture_stack.stop_event_source_pollers()

    assert delivered.is_set()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("sqs-poller-")]


SOURCE = SqsEventSource(
    logical_id="M",
    function_name="f",
    queue_url="http://local/q",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
    batch_size=10,
    report_batch_item_failures=True,
    enabled=True,
)


@pytest.mark.parametrize(
    ("source", "errored", "response", "failed"),
    [
        (SOURCE, True, {"errorType": "Boom"}, {"a", "b"}),
        (SOURCE, False, None, set()),
        (SOURCE, False, {"batchItemFailures": []}, set()),
        (SOURCE, False, {"batchItemFailures": None}, set()),
        (SOURCE, False, {"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        (SOURCE, False, {"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        (SOURCE, False, {"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),
        (SOURCE, False, {"batchItemFailures": [{"id": "b"}]}, {"a", "b"}),
        (SOURCE, False, "done", {"a", "b"}),
        (
            SOURCE.model_copy(update={"report_batch_item_failures": False}),
            False,
            {"batchItemFailures": [{"itemIdentifier": "b"}]},
            set(),
        ),
    ],
)
def test_partial_batch_responses_follow_lambdas_rules(source, errored, response, failed):
    assert failed_message_ids(source, ["a", "b"], errored, response) == failed
