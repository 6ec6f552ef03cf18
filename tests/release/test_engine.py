"""The release life cycle against DynamoDB (moto): gates, outcomes and the final status."""

from __future__ import annotations

import threading

import pytest

from promotions import clock
from promotions.release.engine import ReleaseEngine, ReleaseNotRetryable, error_reason
from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.status import EnvironmentStatus, ReleaseStatus

PROCEED = {"proceed": True}
SKIP = {"proceed": False}


class RecordingTokens:
    """Records each answer as proceed (task succeeded) or skip (task failed with EnvironmentNotStarted)."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, dict]] = []

    def answer(self, token, output):
        assert output == {}
        self.answers.append((token, PROCEED))

    def refuse(self, token, error, cause):
        assert error == "EnvironmentNotStarted" and cause.startswith("not started")
        self.answers.append((token, SKIP))

    def answer_for(self, token):
        return [output for t, output in self.answers if t == token]


@pytest.fixture
def tokens() -> RecordingTokens:
    return RecordingTokens()


@pytest.fixture
def engine(store, tokens) -> ReleaseEngine:
    return ReleaseEngine(store, tokens)


@pytest.fixture
def release(store) -> Release:
    """The diamond release, stored: dev → (qa, staging) → prod."""
    release = diamond_release()
    store.create(release)
    return release


def diamond_release() -> Release:
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
            EnvironmentRun(name="staging", depends_on=("dev",)),
            EnvironmentRun(name="prod", depends_on=("qa", "staging")),
        ],
    )


def test_create_is_idempotent_and_round_trips(store):
    release = diamond_release()
    assert store.create(release) is True
    assert store.create(release) is False
    stored = store.get(release.id)
    assert [run.name for run in stored.environments] == ["dev", "qa", "staging", "prod"]
    assert stored.environment("prod").depends_on == ("qa", "staging")
    assert stored.status is ReleaseStatus.QUEUED
    assert stored.source == release.source


def test_release_id_is_a_valid_execution_name_and_stable():
    source = SourceRevision(repo_url="https://git.example/x.git", branch="main", commit="b" * 40)
    first = release_id_for("My Product/β", "flow", source)
    assert first == release_id_for("My Product/β", "flow", source)
    assert first != release_id_for("My Product/β", "other-flow", source)
    assert len(first) <= 80 and all(c.isalnum() or c in "-_" for c in first)


def test_fan_out_then_fan_in(store, tokens, engine, release):
    assert engine.begin(release.id) == ["qa", "staging", "prod"]
    assert store.get(release.id).status is ReleaseStatus.RUNNING

    engine.gate(release.id, "prod", "t-prod")
    engine.gate(release.id, "qa", "t-qa")
    engine.gate(release.id, "staging", "t-staging")
    # both children of dev proceed at once; prod waits for both
    assert tokens.answer_for("t-qa") == [PROCEED]
    assert tokens.answer_for("t-staging") == [PROCEED]
    assert tokens.answer_for("t-prod") == []
    assert store.get(release.id).environment("qa").status is EnvironmentStatus.RUNNING

    engine.complete(release.id, "qa", succeeded=True)
    assert tokens.answer_for("t-prod") == []
    engine.complete(release.id, "staging", succeeded=True)
    assert tokens.answer_for("t-prod") == [PROCEED]
    engine.complete(release.id, "prod", succeeded=True)
    assert engine.settle(release.id) is ReleaseStatus.SUCCEEDED
    assert store.get(release.id).status is ReleaseStatus.RUNNING  # success hooks still to run
    assert engine.close(release.id, succeeded=True) is ReleaseStatus.SUCCEEDED
    assert store.waiting_environments(release.id) == {}


def test_failure_stops_environments_that_have_not_started(store, tokens, engine, release):
    engine.begin(release.id)
    engine.gate(release.id, "qa", "t-qa")
    engine.gate(release.id, "staging", "t-staging")
    engine.gate(release.id, "prod", "t-prod")
    engine.complete(
        release.id, "qa", succeeded=False, error={"Error": "GitTransientError", "Cause": "server said 503"}
    )
    assert tokens.answer_for("t-prod") == [SKIP]
    engine.complete(release.id, "staging", succeeded=True)
    assert engine.settle(release.id) is ReleaseStatus.FAILED
    status = engine.close(release.id, succeeded=False)
    final = store.get(release.id)
    assert status is ReleaseStatus.FAILED
    assert final.environment("prod").status is EnvironmentStatus.TERMINATED
    assert final.environment("prod").reason == "not started: qa failed"
    assert final.environment("staging").status is EnvironmentStatus.SUCCESSFUL
    assert "qa: Failed (GitTransientError: server said 503)" in final.reason


def test_a_gate_parked_after_a_failure_is_skipped(store, tokens, engine, release):
    engine.begin(release.id)
    engine.gate(release.id, "qa", "t-qa")
    engine.complete(release.id, "qa", succeeded=False, error={"Error": "boom"})
    engine.gate(release.id, "staging", "t-staging")
    assert tokens.answer_for("t-staging") == [SKIP]


def test_a_decided_but_undelivered_answer_is_delivered_again(store, tokens, engine, release):
    """A crash between recording a decision and answering must not strand the waiting iteration."""
    engine.begin(release.id)
    store.register_wait_token(release.id, "qa", "t-qa")
    assert store.decide_wait(release.id, "qa", "t-qa", "proceed")  # the crashed party got this far
    assert not store.decide_wait(release.id, "qa", "t-qa", "skip")  # nobody may change its mind
    engine.gate(release.id, "staging", "t-staging")
    assert tokens.answer_for("t-qa") == [PROCEED]


def test_a_release_level_error_stops_everything_and_close_is_final(store, tokens, engine, release):
    engine.begin(release.id)
    engine.record_error(release.id, "GateFailed: announce: the hook answered 500")
    assert engine.settle(release.id) is ReleaseStatus.FAILED
    assert engine.close(release.id, succeeded=False) is ReleaseStatus.FAILED
    final = store.get(release.id)
    assert final.reason == "GateFailed: announce: the hook answered 500"
    assert {run.status for run in final.promoted_environments} == {EnvironmentStatus.TERMINATED}
    assert engine.close(release.id, succeeded=True) is ReleaseStatus.FAILED
    # a late begin (a redelivered task) must not reopen a settled release
    engine.begin(release.id)
    assert store.get(release.id).status is ReleaseStatus.FAILED


def test_error_reason_reads_lambda_error_causes():
    cause = '{"errorMessage": "push rejected", "errorType": "PushRaceLost", "stackTrace": []}'
    assert error_reason({"Error": "PushRaceLost", "Cause": cause}) == "PushRaceLost: push rejected"
    assert error_reason({"Error": "States.Timeout"}) == "States.Timeout"
    assert error_reason(None) is None


def test_promotion_context_merges_keys_and_later_values_win(store):
    release = diamond_release()
    store.create(release)
    assert store.merge_promotion_context(release.id, {"ticket": "OPS-1", "approver": "dana"}) == {
        "ticket": "OPS-1",
        "approver": "dana",
    }
    assert store.merge_promotion_context(release.id, {"ticket": "OPS-2"}) == {
        "ticket": "OPS-2",
        "approver": "dana",
    }
    assert store.get(release.id).promotion_context == {"ticket": "OPS-2", "approver": "dana"}


def test_promotion_context_merges_from_parallel_writers_all_land(store):
    release = diamond_release()
    store.create(release)
    writers = [
        threading.Thread(target=store.merge_promotion_context, args=(release.id, {f"key{i}": i}))
        for i in range(6)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert store.get(release.id).promotion_context == {f"key{i}": i for i in range(6)}


def test_reopening_a_failed_release_runs_only_what_did_not_succeed(store, tokens, engine, release):
    engine.begin(release.id)
    with pytest.raises(ReleaseNotRetryable, match="Running"):
        engine.reopen(release.id)
    for name, token in (("qa", "t-qa"), ("staging", "t-staging"), ("prod", "t-prod")):
        engine.gate(release.id, name, token)
    engine.complete(release.id, "qa", succeeded=True)
    store.record_commit(release.id, "qa", "b" * 40, "Promote guestbook 1.5.0 to qa")
    engine.complete(
        release.id, "staging", succeeded=False, error={"Error": "GitTransientError", "Cause": "503"}
    )
    engine.settle(release.id)
    engine.close(release.id, succeeded=False)

    engine.reopen(release.id)

    reopened = store.get(release.id)
    assert reopened.status is ReleaseStatus.QUEUED and reopened.reason is None
    assert reopened.environment("staging").status is EnvironmentStatus.PENDING
    assert reopened.environment("staging").reason is None
    assert reopened.environment("prod").status is EnvironmentStatus.PENDING
    assert reopened.environment("qa").status is EnvironmentStatus.SUCCESSFUL
    assert reopened.environment("qa").commit == "b" * 40
    assert engine.begin(release.id) == ["staging", "prod"]


NEWER = "superseded by guestbook-newer: its promotion 0123456789ab on main came from bbbbbbbbbbbb"


def supersede(store, release: Release, environment: str) -> None:
    """What the promotion records when a newer release promoted the environment first."""
    store.set_environment_status(
        release.id,
        environment,
        EnvironmentStatus.SUPERSEDED,
        reason=NEWER,
        only_from=(EnvironmentStatus.RUNNING,),
    )


def test_the_environments_after_a_superseded_one_are_superseded_and_the_release_succeeds(
    store, tokens, engine, release
):
    engine.begin(release.id)
    for name, token in (("qa", "t-qa"), ("staging", "t-staging"), ("prod", "t-prod")):
        engine.gate(release.id, name, token)
    supersede(store, release, "qa")

    engine.complete(release.id, "qa", succeeded=True)  # the state machine goes on to RecordSuccess

    assert tokens.answer_for("t-prod") == [SKIP], "prod does not promote the old version"
    engine.complete(release.id, "staging", succeeded=True)
    assert engine.settle(release.id) is ReleaseStatus.SUCCEEDED
    final = store.get(release.id)
    assert final.environment("qa").status is EnvironmentStatus.SUPERSEDED
    assert final.environment("qa").reason == NEWER
    assert final.environment("prod").status is EnvironmentStatus.SUPERSEDED
    assert final.environment("prod").reason == f"not started: qa was {NEWER}"
    assert final.environment("staging").status is EnvironmentStatus.SUCCESSFUL
    assert final.reason is None


def test_a_failure_elsewhere_still_terminates_what_waits_on_a_superseded_environment(
    store, tokens, engine, release
):
    engine.begin(release.id)
    for name, token in (("qa", "t-qa"), ("staging", "t-staging")):
        engine.gate(release.id, name, token)
    supersede(store, release, "qa")
    engine.complete(release.id, "staging", succeeded=False, error={"Error": "GateFailed", "Cause": "smoke"})
    engine.gate(release.id, "prod", "t-prod")

    assert store.get(release.id).environment("prod").status is EnvironmentStatus.TERMINATED
    assert engine.settle(release.id) is ReleaseStatus.FAILED
    engine.close(release.id, succeeded=False)
    engine.reopen(release.id)
    assert engine.begin(release.id) == ["staging", "prod"], "a superseded environment is not run again"
