"""Status changes as a user of the stack sees them: events read from a queue their own rule subscribes to the
project's bus, and the delivery metrics the handlers write to their output, over a release dev → qa → prod."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow

RELEASE_LINK = "https://promotions.example/releases/"


def dev_qa_prod(text: str, filename: str) -> str:
    """The demo's flow without staging: dev → qa → prod."""
    if filename != "promotion-flow.yaml":
        return text
    return text.replace("    - environment: staging\n      dependsOn: [dev]\n", "").replace(
        "dependsOn: [qa, staging]", "dependsOn: [qa]"
    )


def subscribe(local: LocalPromotions) -> str:
    """A queue of the user's own, and a rule on the project's bus sending it every event of source promotions."""
    sqs, events = local.stack.client("sqs"), local.stack.client("events")
    queue_url = sqs.create_queue(QueueName="my-promotion-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = local.stack.outputs["EventBusName"]
    events.put_rule(
        Name="my-promotion-events", EventBusName=bus, EventPattern=json.dumps({"source": ["promotions"]})
    )
    events.put_targets(
        Rule="my-promotion-events", EventBusName=bus, Targets=[{"Id": "my-queue", "Arn": queue_arn}]
    )
    return queue_url


def received(local: LocalPromotions, queue_url: str) -> list[dict]:
    sqs = local.stack.client("sqs")
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def run_release(gitops_world, push_version, on_stack):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        config_dir = gitops_world.write_config(url, edit=dev_qa_prod)
        with LocalPromotions(config_dir, parameters={"ReleaseLinkPrefix": RELEASE_LINK}) as local:
            seen = on_stack(local)
            local.submit_github_push(push_version(url, "3.0.0"))
            local.process_events()
            [release] = local.wait_until_settled(timeout=180)
            return release, seen(local) if seen else None


def test_a_release_puts_each_status_change_on_the_bus(gitops_world, push_version):
    def subscribed(local):
        queue_url = subscribe(local)
        return lambda local: received(local, queue_url)

    release, events = run_release(gitops_world, push_version, subscribed)

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert {event["source"] for event in events} == {"promotions"}
    details = sorted((event["detail"] for event in events), key=lambda detail: detail["time"])
    moves = [(detail.get("environment"), detail["previousStatus"], detail["status"]) for detail in details]
    assert moves == [
        (None, None, "Queued"),
        (None, "Queued", "Running"),
        ("qa", "Pending", "Running"),
        ("qa", "Running", "Successful"),
        ("prod", "Pending", "Running"),
        ("prod", "Running", "Successful"),
        (None, "Running", "Succeeded"),
    ]
    detail_types = {event["detail-type"] for event in events if "environment" in event["detail"]}
    assert detail_types == {"Promotion Environment Status Change"}
    assert {event["detail-type"] for event in events if "environment" not in event["detail"]} == {
        "Promotion Release Status Change"
    }
    for detail in details:
        assert (detail["releaseId"], detail["product"], detail["flow"], detail["version"]) == (
            release.id,
            "guestbook",
            "guestbook-release",
            "3.0.0",
        )
        assert detail["releaseUrl"] == f"{RELEASE_LINK}{release.id}"
        assert datetime.fromisoformat(detail["time"]) >= release.created_at
    successes = {
        detail["environment"]: detail["commit"] for detail in details if detail["status"] == "Successful"
    }
    assert successes == {name: release.environment(name).commit for name in ("qa", "prod")}
    assert all(successes.values())


def test_the_handlers_write_each_environments_lead_time_and_duration_as_emf(
    gitops_world, push_version, capsys
):
    release, _ = run_release(gitops_world, push_version, lambda local: None)
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert all(run.status is EnvironmentStatus.SUCCESSFUL for run in release.promoted_environments)
    measured = {}
    for blob in blobs:
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Promotions"
        for metric in directive["Metrics"]:
            [value] = blob[metric["Name"]]
            measured[(metric["Name"], blob.get("environment"))] = (value, set(directive["Dimensions"][0]))
    for environment in ("qa", "prod"):
        lead_time, dimensions = measured[("PromotionLeadTime", environment)]
        duration, _ = measured[("EnvironmentDuration", environment)]
        run = release.environment(environment)
        assert {"product", "environment"} <= dimensions
        assert lead_time >= duration > 0
        assert duration == pytest.approx((run.finished_at - run.started_at).total_seconds(), abs=0.01)
    assert measured[("PromotionLeadTime", "prod")][0] > measured[("PromotionLeadTime", "qa")][0]
