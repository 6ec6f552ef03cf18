"""The bus adapter on moto's EventBridge: an event put reaches a rule's queue; one the bus refuses raises."""

from __future__ import annotations

import json

import boto3
import pytest

from promotions.aws.event_bus import EventBus, EventNotPut


def test_an_event_reaches_the_queue_a_rule_sends_it_to(aws):
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name="promotions-events")
    queue_url = sqs.create_queue(QueueName="status-changes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="mine", EventBusName="promotions-events", EventPattern=json.dumps({"source": ["promotions"]})
    )
    events.put_targets(Rule="mine", EventBusName="promotions-events", Targets=[{"Id": "q", "Arn": queue_arn}])

    EventBus("promotions-events").put(
        "promotions", "Promotion Release Status Change", '{"status": "Running"}'
    )

    [message] = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "promotions",
        "Promotion Release Status Change",
        {"status": "Running"},
    )


def test_an_entry_the_bus_refuses_raises_with_its_reason():
    class Refusing:
        def put_events(self, Entries):
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try later"}],
            }

    with pytest.raises(EventNotPut, match="InternalFailure try later"):
        EventBus("promotions-events", client=Refusing()).put(
            "promotions", "Promotion Release Status Change", "{}"
        )
