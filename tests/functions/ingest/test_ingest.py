"""The ingest function: every event starts its releases, is logged as ignored with why, is dead-lettered at
once with its reason, or (a transient failure only) is handed back to SQS to be delivered again."""

from __future__ import annotations

import json

import boto3
import pytest

from promotions import runtime


def upstream(upstream_events, name: str) -> dict:
    return json.loads((upstream_events / name).read_text())


def outcome_of(delivered, record) -> dict:
    [outcome] = delivered.outcomes[record["messageId"]]
    return outcome


def releases_started_metric(delivered) -> list[float]:
    return [value for document in delivered.metrics for value in document.get("ReleasesStarted", [])]


def test_a_redelivered_push_that_starts_no_release_is_ignored_again_with_its_reason(ingest, upstream_events):
    tag_push = upstream(upstream_events, "github-push-tag-created.json")
    first, again = ingest.record_of("github", "push", tag_push), ingest.record_of("github", "push", tag_push)

    delivered = [ingest.deliver(first), ingest.deliver(again)]

    for batch, record in zip(delivered, (first, again), strict=True):
        assert not batch.failed and not batch.dead_letters
        outcome = outcome_of(batch, record)
        assert outcome["outcome"] == "ignored"
        assert tag_push["ref"] in outcome["reason"] and "not a branch" in outcome["reason"]
    assert outcome_of(delivered[1], again)["replayed"] is True
    assert ingest.started_executions() == []


def test_a_push_that_matches_no_flow_is_logged_as_ignored_with_why(ingest, upstream_events):
    record = ingest.record_of("github", "push", upstream(upstream_events, "github-push.json"))

    delivered = ingest.deliver(record)

    assert not delivered.failed and not delivered.dead_letters
    outcome = outcome_of(delivered, record)
    assert outcome["outcome"] == "ignored" and outcome["replayed"] is False
    assert "no product flow" in outcome["reason"] and "binkkatal/sample_app" in outcome["reason"]


def test_a_push_starts_its_release_once_and_its_redelivery_is_logged_but_not_counted(ingest):
    push = ingest.push_version("2.0.0")
    first, again = ingest.record_of("github", "push", push), ingest.record_of("github", "push", push)

    started, replayed = ingest.deliver(first), ingest.deliver(again)

    [release] = ingest.started_executions()
    for batch, record, replay in ((started, first, False), (replayed, again, True)):
        outcome = outcome_of(batch, record)
        assert (outcome["outcome"], outcome["releases"], outcome["replayed"]) == (
            "started",
            [release],
            replay,
        )
    assert releases_started_metric(started) == [1.0]
    assert releases_started_metric(replayed) == []


@pytest.fixture
def stored_payload(ingest):
    def store(body: bytes) -> dict:
        key = "webhooks/github/stored.json"
        boto3.client("s3").put_object(Bucket=ingest.payload_bucket, Key=key, Body=body)
        return {"bucket": ingest.payload_bucket, "key": key}

    return store


def unknown_provider(ingest, stored_payload):
    return ingest.record_of("gitea", "push", ingest.push_version("2.0.0")), "gitea"


def commit_not_in_the_repository(ingest, stored_payload):
    push = ingest.push_version("2.0.0")
    missing = "0123456789abcdef" * 2 + "01234567"
    return ingest.record_of("github", "push", {**push, "after": missing}), missing


def missing_stored_payload(ingest, stored_payload):
    location = {"bucket": ingest.payload_bucket, "key": "webhooks/github/gone.json"}
    return ingest.record_of("github", "push", None, payloadLocation=location), "webhooks/github/gone.json"


def stored_payload_not_json(ingest, stored_payload):
    location = stored_payload(b"<html>not json</html>")
    return ingest.record_of("github", "push", None, payloadLocation=location), "not a JSON object"


def stored_payload_a_json_list(ingest, stored_payload):
    location = stored_payload(b'[{"ref": "refs/heads/main"}]')
    return ingest.record_of("github", "push", None, payloadLocation=location), "not a JSON object"


@pytest.mark.parametrize(
    "event",
    [
        unknown_provider,
        commit_not_in_the_repository,
        missing_stored_payload,
        stored_payload_not_json,
        stored_payload_a_json_list,
    ],
)
def test_an_event_that_can_never_succeed_is_dead_lettered_at_once_with_its_reason(
    ingest, stored_payload, event
):
    record, named = event(ingest, stored_payload)

    delivered = ingest.deliver(record)

    assert not delivered.failed, "a failure that cannot pass must not be retried"
    assert named in delivered.dead_letters[record["messageId"]]
    outcome = outcome_of(delivered, record)
    assert outcome["outcome"] == "dead-lettered" and named in outcome["reason"]
    assert ingest.started_executions() == []


def test_a_transient_failure_is_handed_back_to_sqs_and_logged(ingest, monkeypatch):
    record = ingest.record_of("github", "push", ingest.push_version("2.0.0"))
    # Nothing listens on the discard port of loopback: the configuration repository cannot be reached.
    monkeypatch.setenv("CONFIG_REPO_URL", "http://127.0.0.1:9/config.git")
    runtime.services.cache_clear()

    delivered = ingest.deliver(record)

    assert delivered.failed == {record["messageId"]}
    assert not delivered.dead_letters
    outcome = outcome_of(delivered, record)
    assert outcome["outcome"] == "retried" and "GitTransientError" in outcome["reason"]


def test_a_push_that_updates_no_ref_is_logged_as_ignored(ingest, upstream_events):
    payload = upstream(upstream_events, "bitbucket-cloud-repo-push.json")
    payload["push"]["changes"] = []
    record = ingest.record_of("bitbucket", "push", payload)

    delivered = ingest.deliver(record)

    assert not delivered.failed and not delivered.dead_letters
    outcome = outcome_of(delivered, record)
    assert outcome["outcome"] == "ignored" and "no ref" in outcome["reason"]
