"""Status changes as the release store tells them (moto's DynamoDB), the events they make, and the delivery
metrics they show."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from promotions import clock
from promotions.release.approval_store import ApprovalRequest, ApprovalStore
from promotions.release.model import (
    EnvironmentFailure,
    EnvironmentRun,
    FailureKind,
    Release,
    SourceRevision,
    release_id_for,
)
from promotions.release.notifications import Notifications
from promotions.release.promotion_metrics import PromotionMetrics
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.status_events import StatusEvents

RELEASE_LINK = "https://promotions.example/releases/"


class RecordedChanges:
    def __init__(self) -> None:
        self.changes: list = []

    def status_changed(self, change) -> None:
        self.changes.append(change)

    def moves(self) -> list[tuple[str | None, str | None, str]]:
        return [
            (
                getattr(change, "environment", None),
                change.previous and change.previous.value,
                change.status.value,
            )
            for change in self.changes
        ]


class RecordedEvents:
    def __init__(self, refuse: bool = False) -> None:
        self.events: list[tuple[str, str, dict]] = []
        self._refuse = refuse

    def put(self, source: str, detail_type: str, detail: str) -> None:
        if self._refuse:
            raise RuntimeError("the bus is away")
        self.events.append((source, detail_type, json.loads(detail)))


class RecordedMeasurements:
    def __init__(self) -> None:
        self.measured: list[tuple[str, str, float, dict[str, str]]] = []

    def record(self, name: str, unit: str, value: float, dimensions: dict[str, str]) -> None:
        self.measured.append((name, unit, value, dimensions))

    def named(self, name: str) -> list[tuple[float, dict[str, str]]]:
        return [(value, dimensions) for measured, _, value, dimensions in self.measured if measured == name]


def new_release() -> Release:
    source = SourceRevision(repo_url="https://git.example/gitops.git", branch="main", commit="a" * 40)
    return Release(
        id=release_id_for("guestbook", "flow", source),
        product="guestbook",
        flow="flow",
        version="1.5.0",
        trigger_environment="dev",
        source=source,
        config_revision="c" * 40,
        created_at=clock.now(),
        environments=[
            EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit="a" * 40),
            EnvironmentRun(name="qa", depends_on=("dev",)),
        ],
    )


@pytest.fixture
def recorded(store) -> RecordedChanges:
    changes = RecordedChanges()
    store.observe(changes)
    return changes


def test_the_store_tells_each_change_once_with_the_status_it_replaced(store, recorded):
    release = new_release()
    store.create(release)
    store.create(release)  # the same event again: no new release
    store.set_release_status(release.id, ReleaseStatus.RUNNING)
    store.set_release_status(release.id, ReleaseStatus.RUNNING, reason="a hook failed")  # a reason, no move
    store.set_environment_status(release.id, "qa", EnvironmentStatus.RUNNING)
    refused = store.set_environment_status(
        release.id, "qa", EnvironmentStatus.SUCCESSFUL, only_from=(EnvironmentStatus.PENDING,)
    )
    store.set_environment_status(release.id, "qa", EnvironmentStatus.FAILED, reason="GateFailed: no")
    store.set_release_status(release.id, ReleaseStatus.FAILED)
    blocked = store.set_release_status(release.id, ReleaseStatus.RUNNING, unless=(ReleaseStatus.FAILED,))

    assert not refused and not blocked
    assert recorded.moves() == [
        (None, None, "Queued"),
        (None, "Queued", "Running"),
        ("qa", "Pending", "Running"),
        ("qa", "Running", "Failed"),
        (None, "Running", "Failed"),
    ]
    assert all(change.release_id == release.id for change in recorded.changes)


def test_each_change_is_published_with_the_release_as_stored(store):
    events = RecordedEvents()
    store.observe(
        Notifications(
            store.get, [StatusEvents(events, RecordedMeasurements(), lambda id: f"{RELEASE_LINK}{id}")]
        )
    )
    release = new_release()
    store.create(release)
    store.set_environment_status(release.id, "qa", EnvironmentStatus.RUNNING)
    store.record_commit(release.id, "qa", "b" * 40, "Promote qa")
    store.set_environment_status(release.id, "qa", EnvironmentStatus.SUCCESSFUL)

    [created, running, successful] = events.events
    assert {source for source, _, _ in events.events} == {"promotions"}
    assert created[1] == "Promotion Release Status Change"
    assert created[2] == {
        "releaseId": release.id,
        "product": "guestbook",
        "flow": "flow",
        "version": "1.5.0",
        "status": "Queued",
        "previousStatus": None,
        "reason": None,
        "triggerCommit": "a" * 40,
        "releaseUrl": f"{RELEASE_LINK}{release.id}",
        "time": created[2]["time"],
    }
    assert running[1] == successful[1] == "Promotion Environment Status Change"
    assert (running[2]["environment"], running[2]["previousStatus"], running[2]["status"]) == (
        "qa",
        "Pending",
        "Running",
    )
    assert running[2]["commit"] is None
    assert (successful[2]["previousStatus"], successful[2]["status"], successful[2]["commit"]) == (
        "Running",
        "Successful",
        "b" * 40,
    )
    assert running[2]["time"] < successful[2]["time"]


def test_a_bus_that_refuses_loses_the_event_but_not_the_status_and_counts_it(store):
    measurements = RecordedMeasurements()
    store.observe(
        Notifications(store.get, [StatusEvents(RecordedEvents(refuse=True), measurements, lambda id: None)])
    )
    release = new_release()
    store.create(release)

    assert store.set_release_status(release.id, ReleaseStatus.RUNNING) is True
    assert store.get(release.id).status is ReleaseStatus.RUNNING
    assert measurements.named("StatusEventsNotPublished") == [(1, {}), (1, {})]


def test_a_watcher_that_fails_keeps_the_others_told(store):
    class Broken:
        def notice(self, change, release):
            raise RuntimeError("broken")

    events = RecordedEvents()
    store.observe(
        Notifications(store.get, [Broken(), StatusEvents(events, RecordedMeasurements(), lambda id: None)])
    )
    store.create(new_release())

    assert [detail["status"] for _, _, detail in events.events] == ["Queued"]


@pytest.fixture
def measured(store) -> RecordedMeasurements:
    measurements = RecordedMeasurements()
    store.observe(
        Notifications(store.get, [PromotionMetrics(ApprovalStore("promotions-test"), measurements)])
    )
    return measurements


def test_a_successful_environment_measures_lead_time_and_duration(store, measured):
    release = new_release()
    store.create(release)
    clock.fast_forward(120)
    store.set_environment_status(release.id, "qa", EnvironmentStatus.RUNNING)
    clock.fast_forward(30)
    store.set_environment_status(release.id, "qa", EnvironmentStatus.SUCCESSFUL)

    where = {"product": "guestbook", "environment": "qa"}
    [(lead_time, lead_where)] = measured.named("PromotionLeadTime")
    [(duration, duration_where)] = measured.named("EnvironmentDuration")
    assert lead_where == duration_where == where
    assert lead_time == pytest.approx(150, abs=1)
    assert duration == pytest.approx(30, abs=1)
    assert measured.named("EnvironmentFailures") == []


def test_a_failed_environment_is_counted_by_its_failure_kind(store, measured):
    release = new_release()
    store.create(release)
    store.set_environment_status(release.id, "qa", EnvironmentStatus.RUNNING)
    store.set_environment_status(
        release.id,
        "qa",
        EnvironmentStatus.FAILED,
        reason="GateFailed: smoke said no",
        failure=EnvironmentFailure(kind=FailureKind.CHECK, check="smoke", message="smoke said no"),
    )

    assert measured.named("EnvironmentFailures") == [
        (1, {"product": "guestbook", "environment": "qa", "reason": "check"})
    ]
    assert measured.named("PromotionLeadTime") == []


def test_a_decided_approval_measures_the_wait_from_its_request(store, measured):
    release = new_release()
    store.create(release)
    store.set_environment_status(release.id, "qa", EnvironmentStatus.RUNNING)
    request = ApprovalRequest(check="approve", channel="#releases", text="ship?", timeout_minutes=60)
    ApprovalStore("promotions-test").create(release.id, "qa", "token-1", request, authors=[], changes="")
    store.set_environment_status(release.id, "qa", EnvironmentStatus.SUSPENDED)
    clock.fast_forward(timedelta(minutes=7).total_seconds())
    store.set_environment_status(release.id, "qa", EnvironmentStatus.RUNNING)

    [(wait, where)] = measured.named("ApprovalWait")
    assert where == {"product": "guestbook", "environment": "qa"}
    assert wait == pytest.approx(420, abs=1)
