"""A provider is one module: an event source defined here, registered in the table and nowhere else, is
verified by the webhook function and started as a release by ingest, or (arriving on the bus as an AWS
service's event) read by ingest alone."""

from __future__ import annotations

import hashlib
import hmac
import json
import types
from collections.abc import Mapping
from types import MappingProxyType

import pytest
from pydantic import BaseModel

from promotions.push import GitPush
from promotions.sources import registry
from promotions.sources.event_source import BusRule, EventSource, WebhookRoute


class _Commit(BaseModel):
    added: list[str] = []
    modified: list[str] = []
    removed: list[str] = []


class _Repository(BaseModel):
    clone_url: str


class _GiteaPush(BaseModel):
    ref: str
    before: str
    after: str
    repository: _Repository
    commits: list[_Commit] = []


def gitea_module() -> types.ModuleType:
    """A Gitea provider as its own module would declare it: Gitea signs the raw body with HMAC-SHA256 in
    X-Gitea-Signature (hex digits, no prefix) and sends GitHub-shaped push payloads."""
    gitea = types.ModuleType("gitea")

    def signed(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("x-gitea-signature", ""))

    def pushes(payload, *, delivery_id: str | None) -> list[GitPush]:
        push = _GiteaPush.model_validate(payload)
        return [
            GitPush(
                provider="gitea",
                repo_url=push.repository.clone_url,
                ref=push.ref,
                before=push.before,
                after=push.after,
                changed_paths=frozenset(
                    path
                    for commit in push.commits
                    for path in (*commit.added, *commit.modified, *commit.removed)
                ),
                delivery_id=delivery_id,
            )
        ]

    gitea.SOURCE = EventSource(
        name="gitea",
        arrival=WebhookRoute(
            event_header="X-Gitea-Event",
            delivery_header="X-Gitea-Delivery",
            push_events=frozenset({"push"}),
            verify=signed,
            secret_entry="gitea",
        ),
        parse=pushes,
    )
    return gitea


def codecommit_module(clone_urls: Mapping[str, str]) -> types.ModuleType:
    """A source an AWS service puts on the bus itself: CodeCommit's reference changes (AWS CodeCommit User
    Guide, "CodeCommit Repository State Change"), with the clone URL of each repository by name."""
    codecommit = types.ModuleType("codecommit")

    def pushes(detail, *, delivery_id: str | None) -> list[GitPush]:
        return [
            GitPush(
                provider="codecommit",
                repo_url=clone_urls[detail["repositoryName"]],
                ref=detail["referenceFullName"],
                before=detail["oldCommitId"],
                after=detail["commitId"],
                delivery_id=delivery_id,
            )
        ]

    codecommit.SOURCE = EventSource(
        name="codecommit",
        arrival=BusRule(
            source="aws.codecommit", detail_types=frozenset({"CodeCommit Repository State Change"})
        ),
        parse=pushes,
    )
    return codecommit


def register(monkeypatch, module: types.ModuleType) -> None:
    monkeypatch.setattr(
        registry, "SOURCES", MappingProxyType({**registry.SOURCES, module.SOURCE.name: module.SOURCE})
    )


def gitea_headers(body: str, secret: str, delivery: str) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {"X-Gitea-Event": "push", "X-Gitea-Delivery": delivery, "X-Gitea-Signature": signature}


def the_outcome(delivered, record) -> dict:
    assert not delivered.failed and not delivered.dead_letters, delivered
    [outcome] = delivered.outcomes[record["messageId"]]
    return outcome


def test_a_provider_registered_in_the_table_is_verified_and_starts_its_release(webhook, ingest, monkeypatch):
    body = json.dumps(ingest.push_version("2.0.0"))
    headers = gitea_headers(body, webhook.secret, "gitea-delivery-1")
    assert webhook.post("gitea", body, headers)["statusCode"] == 404, "not a provider before it is registered"

    register(monkeypatch, gitea_module())
    forged = webhook.post("gitea", body, {**headers, "X-Gitea-Signature": "0" * 64})
    accepted = webhook.post("gitea", body, headers)

    assert (forged["statusCode"], accepted["statusCode"]) == (401, 202)
    [envelope] = webhook.delivered()
    assert envelope["detail-type"] == "gitea push" and envelope["detail"]["delivery"] == "gitea-delivery-1"
    # Moto's bus leaves out some of the envelope's fields (account); the real envelope's shape carries them.
    on_the_queue = {**ingest.envelope(envelope["detail"]), **envelope}
    record = ingest.record(json.dumps(on_the_queue))
    outcome = the_outcome(ingest.deliver(record), record)
    [release] = ingest.started_executions()
    assert (outcome["outcome"], outcome["releases"]) == ("started", [release])


@pytest.mark.parametrize("webhook_secret", [json.dumps({"github": "github's", "gitea": "gitea's"})])
def test_a_registered_provider_is_verified_with_the_secret_entry_it_names(webhook, monkeypatch):
    register(monkeypatch, gitea_module())
    body = json.dumps({"ref": "refs/heads/main"})

    statuses = [
        webhook.post("gitea", body, gitea_headers(body, key, "d"))["statusCode"]
        for key in ("gitea's", "github's")
    ]

    assert statuses == [202, 401]


def test_a_source_arriving_on_the_bus_is_read_by_ingest_without_a_webhook(ingest, monkeypatch):
    pushed = ingest.push_version("2.0.0")
    register(monkeypatch, codecommit_module({"gitops": ingest.gitops_url}))

    def record_of(detail_type: str):
        detail = {
            "event": "referenceUpdated",
            "repositoryName": "gitops",
            "referenceType": "branch",
            "referenceName": "main",
            "referenceFullName": "refs/heads/main",
            "oldCommitId": pushed["before"],
            "commitId": pushed["after"],
        }
        envelope = {**ingest.envelope(detail), "source": "aws.codecommit", "detail-type": detail_type}
        return ingest.record(json.dumps(envelope))

    pushed_record = record_of("CodeCommit Repository State Change")
    other_record = record_of("CodeCommit Comment on Commit")
    started = the_outcome(ingest.deliver(pushed_record), pushed_record)
    ignored = the_outcome(ingest.deliver(other_record), other_record)

    [release] = ingest.started_executions()
    assert (started["outcome"], started["releases"]) == ("started", [release])
    assert ignored["outcome"] == "ignored" and "CodeCommit Comment on Commit" in ignored["reason"]


def test_an_event_from_a_bus_source_nobody_registered_is_dead_lettered_naming_it(ingest, upstream_events):
    ecr_push = json.loads((upstream_events / "ecr-image-push.json").read_text())
    record = ingest.record(json.dumps(ecr_push))

    delivered = ingest.deliver(record)

    assert "aws.ecr" in delivered.dead_letters[record["messageId"]]
