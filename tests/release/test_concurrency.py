"""Releases of one product taking turns (queue, terminate), terminating releases, and the environment lock,
against DynamoDB on moto; executions are recorded, not run (tests/e2e/test_concurrency.py runs them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from promotions.config import ConcurrencyPolicy, PromotionConcurrency
from promotions.config.models import PromotionConcurrencySpec
from promotions.release.concurrency import (
    CONCURRENCY_ACTOR,
    EnvironmentLocked,
    ReleaseConcurrency,
    TerminatedBeforePush,
    holding_environment,
)
from promotions.release.engine import ReleaseEngine
from promotions.release.leases import ReleaseLeases
from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.permissions import PermissionRefused
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.termination import ReleaseAlreadyFinal, Termination
from tests.release.callers import LatestConfiguration, configured, non_prod_tester, operator

PRODUCT = "guestbook"
STARTED = datetime(2026, 1, 1, tzinfo=UTC)


class RecordedExecutions:
    """What the engine asked Step Functions to do, in order."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.stopped: list[tuple[str, str]] = []
        self.terminating: list[str] = []
        # Executions that ran and stopped running.
        self.finished: set[str] = set()

    def start(self, release_id: str) -> bool:
        if release_id in self.started:
            return False
        self.started.append(release_id)
        return True

    def retry(self, release_id: str, attempt: int) -> bool:
        return self.start(f"{release_id}-retry-{attempt}")

    def stop(self, execution: str, cause: str) -> None:
        self.stopped.append((execution, cause))

    def terminate(self, release_id: str) -> bool:
        self.terminating.append(release_id)
        return True

    def ended(self, execution: str) -> bool:
        return execution in self.finished


class NoTokens:
    def answer(self, token, output):
        raise AssertionError("no environment is parked in these tests")

    def refuse(self, token, error, cause):
        raise AssertionError("no environment is parked in these tests")


class Settings:
    """The one part of a configuration admission reads: the product's PromotionConcurrency."""

    def __init__(self, policy: ConcurrencyPolicy, queue_limit: int = 50) -> None:
        self.policy = PromotionConcurrency(
            product=PRODUCT, spec=PromotionConcurrencySpec(policy=policy, queue_limit=queue_limit)
        )

    def concurrency_for(self, product: str) -> PromotionConcurrency:
        assert product == PRODUCT
        return self.policy


@pytest.fixture
def leases(store) -> ReleaseLeases:
    return ReleaseLeases("promotions-test")


@pytest.fixture
def executions() -> RecordedExecutions:
    return RecordedExecutions()


@pytest.fixture
def engine(store) -> ReleaseEngine:
    return ReleaseEngine(store, NoTokens())


@pytest.fixture
def termination(store, leases, engine, executions) -> Termination:
    return Termination(store, leases, engine, executions)


def concurrency(store, leases, executions, termination, policy=ConcurrencyPolicy.QUEUE, queue_limit=50):
    settings = Settings(policy, queue_limit)
    return ReleaseConcurrency(store, leases, executions, termination, lambda revision: settings)


def new_release(store, number: int) -> Release:
    source = SourceRevision(repo_url="https://git.example/gitops.git", branch="main", commit=f"{number:040x}")
    release = Release(
        id=release_id_for(PRODUCT, "flow", source),
        product=PRODUCT,
        flow="flow",
        version=f"1.0.{number}",
        trigger_environment="dev",
        source=source,
        config_revision="c" * 40,
        created_at=STARTED + timedelta(seconds=number),
        environments=[
            EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit=source.commit),
            EnvironmentRun(name="qa", depends_on=("dev",)),
        ],
    )
    store.create(release)
    return release


def end(engine: ReleaseEngine, gate: ReleaseConcurrency, release: Release, *, succeeded: bool = True) -> None:
    """What the state machine's last steps do: settle, start the product's next release, close."""
    if succeeded:
        engine.begin(release.id)
        engine.complete(release.id, "qa", succeeded=True)
    gate.start_next(release.product, ending=release.id)
    engine.close(release.id, succeeded=succeeded)


def test_queue_runs_three_releases_one_after_another(store, leases, executions, termination, engine):
    gate = concurrency(store, leases, executions, termination)
    first, second, third = (new_release(store, n) for n in range(3))

    assert [gate.start(release.id) for release in (first, second, third)] == [True, True, True]
    assert executions.started == [first.id]
    assert [store.get(r.id).status for r in (second, third)] == [ReleaseStatus.QUEUED] * 2

    end(engine, gate, first)
    assert executions.started == [first.id, second.id]
    end(engine, gate, second)
    assert executions.started == [first.id, second.id, third.id]
    end(engine, gate, third)
    assert leases.active(PRODUCT) is None and leases.queued(PRODUCT) == []
    assert executions.stopped == []


def test_the_same_release_admitted_twice_is_admitted_once(store, leases, executions, termination):
    gate = concurrency(store, leases, executions, termination)
    first, second = new_release(store, 0), new_release(store, 1)
    gate.start(first.id)
    gate.start(second.id)

    assert gate.start(first.id) is False and gate.start(second.id) is False
    assert executions.started == [first.id]
    assert [queued.release_id for queued in leases.queued(PRODUCT)] == [second.id]


def test_terminate_policy_terminates_the_active_release_and_starts_once_it_ended(
    store, leases, executions, termination, engine
):
    gate = concurrency(store, leases, executions, termination, ConcurrencyPolicy.TERMINATE)
    first, second = new_release(store, 0), new_release(store, 1)
    gate.start(first.id)
    engine.begin(first.id)

    admitted = gate.admit(store.get(second.id))

    assert admitted.terminated == (first.id,) and not admitted.started
    terminating = store.get(first.id)
    assert terminating.status is ReleaseStatus.TERMINATING
    assert (
        terminating.reason
        == f"terminated by {CONCURRENCY_ACTOR}: release {second.id} replaced it (policy terminate)"
    )
    assert executions.stopped == [(first.id, terminating.reason)] and executions.terminating == [first.id]
    assert [(entry.actor, entry.action) for entry in terminating.audit] == [(CONCURRENCY_ACTOR, "terminate")]

    # The terminating execution: unfinished environments Terminated, hooks, then closed.
    termination.finish(first.id)
    end(engine, gate, store.get(first.id), succeeded=False)

    ended = store.get(first.id)
    assert ended.status is ReleaseStatus.TERMINATED
    assert ended.environment("qa").status is EnvironmentStatus.TERMINATED
    assert executions.started == [first.id, second.id]


def test_past_the_queue_limit_the_oldest_waiting_release_is_terminated(
    store, leases, executions, termination
):
    gate = concurrency(store, leases, executions, termination)
    releases = [new_release(store, n) for n in range(52)]
    for release in releases:
        gate.start(release.id)

    active, oldest_waiting, *waiting = releases
    assert executions.started == [active.id]
    terminated = store.get(oldest_waiting.id)
    assert terminated.status is ReleaseStatus.TERMINATED
    assert "more than 50 releases of guestbook were waiting" in terminated.reason
    assert terminated.environment("qa").status is EnvironmentStatus.TERMINATED
    assert [queued.release_id for queued in leases.queued(PRODUCT)] == [release.id for release in waiting]
    assert len(waiting) == 50 and executions.stopped == []


def test_a_queue_limit_of_one_keeps_only_the_newest_waiting(store, leases, executions, termination):
    gate = concurrency(store, leases, executions, termination, queue_limit=1)
    first, second, third = (new_release(store, n) for n in range(3))
    for release in (first, second, third):
        gate.start(release.id)

    assert store.get(second.id).status is ReleaseStatus.TERMINATED
    assert [queued.release_id for queued in leases.queued(PRODUCT)] == [third.id]


def test_terminating_a_queued_release_takes_it_off_the_queue_and_it_never_starts(
    store, leases, executions, termination, engine
):
    gate = concurrency(store, leases, executions, termination)
    first, second = new_release(store, 0), new_release(store, 1)
    gate.start(first.id)
    gate.start(second.id)

    outcome = termination.terminate(second.id, "ops@example.com")

    assert outcome.status is ReleaseStatus.TERMINATED and outcome.reason == "terminated by ops@example.com"
    assert leases.queued(PRODUCT) == [] and executions.stopped == []
    assert store.get(second.id).environment("qa").reason == "not started: terminated by ops@example.com"
    end(engine, gate, first)
    assert executions.started == [first.id]
    with pytest.raises(ReleaseAlreadyFinal, match="only a Queued or Running release"):
        termination.terminate(second.id, "ops@example.com")


def test_terminating_twice_stops_the_execution_once(store, leases, executions, termination, engine):
    gate = concurrency(store, leases, executions, termination)
    release = new_release(store, 0)
    gate.start(release.id)
    engine.begin(release.id)
    leases.record_execution(release.id, f"{release.id}-retry-2")

    first = termination.terminate(release.id, "ops@example.com", reason="wrong version")
    again = termination.terminate(release.id, "someone else")

    assert first.status is again.status is ReleaseStatus.TERMINATING
    assert again.reason == "terminated by ops@example.com: wrong version"
    assert executions.stopped == [(f"{release.id}-retry-2", first.reason)]
    assert executions.terminating == [release.id]


def test_a_terminating_release_is_never_marked_running_again(store, leases, executions, termination, engine):
    release = new_release(store, 0)
    engine.begin(release.id)
    termination.terminate(release.id, "ops@example.com")

    engine.begin(release.id)
    engine.record_error(release.id, "late failure")
    assert store.get(release.id).status is ReleaseStatus.TERMINATING
    assert engine.close(release.id, succeeded=True) is ReleaseStatus.TERMINATED


def test_one_release_at_a_time_writes_an_environment(store, leases):
    first, second = new_release(store, 0), new_release(store, 1)
    with holding_environment(leases, store, first, "qa"):
        locked = pytest.raises(EnvironmentLocked, match=f"release {first.id} is promoting guestbook into qa")
        with locked, holding_environment(leases, store, second, "qa"):
            raise AssertionError("the second release must not get the lock")
        # another environment, and another product's, stay free
        with holding_environment(leases, store, second, "prod"):
            pass
    with holding_environment(leases, store, second, "qa"):
        assert leases.environment_holder(PRODUCT, "qa") == second.id
    assert leases.environment_holder(PRODUCT, "qa") is None


def test_a_crashed_holders_lock_frees_itself_when_its_lease_runs_out(store, leases):
    first, second = new_release(store, 0), new_release(store, 1)
    assert leases.lock_environment(PRODUCT, "qa", first.id, lease_seconds=60) is None
    assert leases.lock_environment(PRODUCT, "qa", second.id, lease_seconds=60) == first.id
    assert leases.lock_environment(PRODUCT, "qa", first.id, lease_seconds=-1) is None  # its lease, run out
    assert leases.lock_environment(PRODUCT, "qa", second.id, lease_seconds=60) is None


def test_a_terminated_release_never_starts_writing(store, leases, termination, engine):
    release = new_release(store, 0)
    engine.begin(release.id)
    termination.terminate(release.id, "ops@example.com")

    with pytest.raises(TerminatedBeforePush), holding_environment(leases, store, release, "qa"):
        raise AssertionError("the push must not start")
    assert leases.environment_holder(PRODUCT, "qa") is None


def test_a_release_its_execution_abandoned_no_longer_holds_its_product(
    store, leases, executions, termination, engine
):
    gate = concurrency(store, leases, executions, termination)
    first, second = new_release(store, 0), new_release(store, 1)
    gate.start(first.id)
    engine.begin(first.id)
    gate.start(second.id)
    assert executions.started == [first.id]

    # Running, and its execution still runs: it keeps the product.
    assert gate.start_next(PRODUCT) is None
    # Its execution timed out (the state machine's TimeoutSeconds) without closing it.
    executions.finished.add(first.id)
    assert gate.start_next(PRODUCT) == second.id

    abandoned = store.get(first.id)
    assert abandoned.status is ReleaseStatus.FAILED
    assert abandoned.reason == "its execution ended without closing the release; it no longer holds guestbook"


def test_a_terminating_release_holds_its_product_until_the_execution_finishing_it_ends(
    store, leases, executions, termination, engine
):
    gate = concurrency(store, leases, executions, termination)
    first, second = new_release(store, 0), new_release(store, 1)
    gate.start(first.id)
    engine.begin(first.id)
    termination.terminate(first.id, "ops@example.com")
    executions.finished.add(first.id)  # stopped
    gate.start(second.id)
    assert executions.started == [first.id]

    executions.finished.add(f"{first.id}-terminated")
    assert gate.start_next(PRODUCT) == second.id
    assert store.get(first.id).status is ReleaseStatus.FAILED


def test_a_release_terminated_as_its_turn_came_runs_no_environment(
    store, leases, executions, termination, engine
):
    gate = concurrency(store, leases, executions, termination)
    release = new_release(store, 0)
    gate.start(release.id)
    # Terminated while still Queued, as if the request arrived just before its execution's first step.
    store.set_release_status(release.id, ReleaseStatus.TERMINATED, reason="terminated by ops@example.com")

    assert engine.begin(release.id) == []
    assert store.get(release.id).status is ReleaseStatus.TERMINATED


def test_a_person_needs_terminate_in_every_environment_of_the_release_and_a_refusal_is_on_its_audit_trail(
    store, leases, engine, executions
):
    rules = configured(
        {"subjects": [{"jwtGroup": "release-operators"}], "verbs": ["terminate"]},
        {
            "subjects": [{"jwtGroup": "non-prod-testers"}],
            "verbs": ["terminate"],
            "environments": {"names": ["qa"]},
        },
    )
    termination = Termination(store, leases, engine, executions, configs=LatestConfiguration(rules))  # type: ignore[arg-type]
    release = new_release(store, 0)
    engine.begin(release.id)

    with pytest.raises(PermissionRefused, match="terminate guestbook in dev"):
        termination.terminate(release.id, non_prod_tester("nina"))
    assert store.get(release.id).status is ReleaseStatus.RUNNING and executions.stopped == []

    outcome = termination.terminate(release.id, operator("olga"), reason="wrong build")

    assert outcome.status is ReleaseStatus.TERMINATING
    assert [
        (entry.actor, entry.action, entry.outcome, entry.detail) for entry in store.get(release.id).audit
    ] == [
        ("nina", "terminate", "refused", ""),
        ("olga", "terminate", "allowed", "wrong build"),
    ]
