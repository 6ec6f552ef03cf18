"""What a release keeps of its environments' gates: each check's latest outcome, the approvals, and why an
environment failed (DynamoDB on moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from promotions import clock
from promotions.aws.logs import log_stream_url
from promotions.git.errors import GitError
from promotions.gitproviders.errors import GitProviderError
from promotions.release.approval_store import ApprovalRequest, ApprovalStore, Approver
from promotions.release.engine import ReleaseEngine
from promotions.release.failures import GATE_FAILED, GIT_ERRORS, StepError, failure_of
from promotions.release.gates import GateFailed
from promotions.release.model import (
    CheckRecord,
    CheckStage,
    CheckState,
    EnvironmentFailure,
    EnvironmentRun,
    FailureKind,
)
from promotions.release.status import EnvironmentStatus
from promotions.release.store import CheckEvaluation
from tests.release.test_engine import RecordingTokens, diamond_release


@pytest.fixture
def release(store):
    release = diamond_release()
    store.create(release)
    return release


def evaluation(name: str, outcome: CheckState, *, first: bool, since, now, **fields) -> CheckEvaluation:
    defaults = {"kind": "http", "stage": CheckStage.PRE_ACTION, "position": 0, "reason": None}
    return CheckEvaluation(
        name=name,
        outcome=outcome,
        first_evaluated_at=since,
        first=first,
        evaluated_at=now,
        **(defaults | fields),
    )


def test_a_polled_check_keeps_one_record_counting_its_attempts(store, release):
    since = clock.now()
    for attempt in range(5):
        now = since + timedelta(minutes=attempt)
        store.record_check(
            release.id,
            "qa",
            evaluation("board", CheckState.WAITING, first=attempt == 0, since=since, now=now, reason="busy"),
        )
    store.record_check(
        release.id,
        "qa",
        evaluation("board", CheckState.PASSED, first=False, since=since, now=since + timedelta(minutes=5)),
    )

    [check] = store.get(release.id).environment("qa").checks
    partition = boto3.client("dynamodb").query(
        TableName="promotions-test",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :checks)",
        ExpressionAttributeValues={":pk": {"S": f"RELEASE#{release.id}"}, ":checks": {"S": "CHECK#"}},
    )
    assert partition["Count"] == 1
    assert check == CheckRecord(
        name="board",
        kind="http",
        stage=CheckStage.PRE_ACTION,
        position=0,
        outcome=CheckState.PASSED,
        reason=None,
        first_evaluated_at=since,
        last_evaluated_at=since + timedelta(minutes=5),
        attempts=6,
    )


def test_a_first_evaluation_counts_anew_as_a_retried_release_runs_its_checks_again(store, release):
    since = clock.now()
    store.record_check(
        release.id, "qa", evaluation("smoke", CheckState.FAILED, first=True, since=since, now=since)
    )
    store.record_check(
        release.id, "qa", evaluation("smoke", CheckState.FAILED, first=False, since=since, now=since)
    )
    again = since + timedelta(hours=1)
    store.record_check(
        release.id, "qa", evaluation("smoke", CheckState.PASSED, first=True, since=again, now=again)
    )

    [check] = store.get(release.id).environment("qa").checks
    assert (check.attempts, check.first_evaluated_at, check.outcome) == (1, again, CheckState.PASSED)


def test_checks_read_back_per_environment_in_the_order_the_step_runs_them(store, release):
    now = clock.now()
    for name, stage, position in (
        ("smoke", CheckStage.POST_ACTION, 2),
        ("argocd:qa", CheckStage.VERIFICATION, 1),
        ("notify", CheckStage.ON_START, 0),
        ("board", CheckStage.PRE_ACTION, 1),
        ("merge", CheckStage.PULL_REQUEST, 0),
    ):
        store.record_check(
            release.id,
            "qa",
            evaluation(
                name, CheckState.PASSED, first=True, since=now, now=now, stage=stage, position=position
            ),
        )
    store.record_check(
        release.id, "prod", evaluation("board", CheckState.WAITING, first=True, since=now, now=now)
    )

    read = store.get(release.id)
    assert [check.name for check in read.environment("qa").checks] == [
        "notify",
        "board",
        "merge",
        "argocd:qa",
        "smoke",
    ]
    assert [check.outcome for check in read.environment("prod").checks] == [CheckState.WAITING]
    assert read.environment("staging").checks == ()


def test_approvals_show_who_decided_when_and_why(store, release):
    approvals = ApprovalStore("promotions-test")
    request = ApprovalRequest(
        check="prod-approval", channel="C1", text="Promote?", timeout_minutes=60, min_approvals=2
    )
    approvals.create(release.id, "prod", "token-1", request, authors=[], changes="")
    [granted] = approvals.of_release(release.id)
    approvals.add_approver(granted, Approver("U1", "Ada"))
    assert [(a.approver, a.decision, a.at) for a in store.get(release.id).environment("prod").approvals] == [
        ("Ada (U1)", "approved", None)
    ], "an approval short of its quorum shows who approved so far"
    approvals.add_approver(granted, Approver("U2", "Bo"))
    approvals.decide(granted, "approved", "U2")
    approvals.create(release.id, "prod", "token-2", request, authors=[], changes="")
    rejected = approvals.of_release(release.id)[-1]
    approvals.decide(rejected, "rejected", "U3", "not on a Friday")

    records = store.get(release.id).environment("prod").approvals
    assert [(a.approver, a.decision, a.reason) for a in records] == [
        ("Ada (U1)", "approved", None),
        ("Bo (U2)", "approved", None),
        ("U3", "rejected", "not on a Friday"),
    ]
    assert all(a.at is not None and a.at <= clock.now() for a in records)
    assert store.get(release.id).environment("qa").approvals == ()


# Fixed, not the clock's now: the parametrized records are built when the module is collected, the others
# when their test runs, and a long session would put minutes between the two.
RECORDED_AROUND = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def record(
    name: str, outcome: CheckState, *, kind="http", stage=CheckStage.PRE_ACTION, at=0, **fields
) -> CheckRecord:
    when = RECORDED_AROUND + timedelta(minutes=at)
    return CheckRecord(
        name=name,
        kind=kind,
        stage=stage,
        position=0,
        outcome=outcome,
        first_evaluated_at=when,
        last_evaluated_at=when,
        attempts=1,
        **fields,
    )


def gate_failed(cause: str) -> StepError:
    return StepError(name=GATE_FAILED, cause=cause)


@pytest.mark.parametrize(
    ("failed", "kind"),
    [
        (record("smoke", CheckState.FAILED, stage=CheckStage.POST_ACTION, reason="503"), FailureKind.CHECK),
        (
            record("argocd:prod", CheckState.FAILED, kind="argoCdHealth", stage=CheckStage.VERIFICATION),
            FailureKind.APPLICATION_HEALTH,
        ),
        (
            record("prod-approval", CheckState.FAILED, kind="approval", reason="rejected by Ada: no"),
            FailureKind.APPROVAL,
        ),
        (record("announce", CheckState.FAILED, stage=CheckStage.ON_START, reason="404"), FailureKind.HOOK),
    ],
)
def test_a_gate_failure_is_told_by_the_check_that_failed(failed, kind):
    run = EnvironmentRun(
        name="prod",
        checks=(
            record("earlier", CheckState.FAILED, at=-60, reason="an earlier attempt"),
            failed,
            record(
                "cleanup", CheckState.FAILED, stage=CheckStage.ON_FAIL, at=5, reason="onFail hooks come after"
            ),
        ),
    )

    failure = failure_of(run, gate_failed(f"{failed.name}: {failed.reason}"))

    assert failure.kind is kind
    assert failure.check == failed.name
    assert failure.message == (
        f"{failed.name}: {failed.reason}" if failed.reason else f"GateFailed: {failed.name}: None"
    )


def test_a_failed_check_carries_its_log_to_the_failure():
    url = log_stream_url(
        "arn:aws:lambda:eu-west-1:1:function:gates", "/aws/lambda/gates", "2026/12/05/[$LATEST]ab"
    )
    run = EnvironmentRun(name="qa", checks=(record("smoke", CheckState.FAILED, reason="503", logs_url=url),))

    assert failure_of(run, gate_failed("smoke: 503")).logs_url == url
    assert url == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/"
        "$252Faws$252Flambda$252Fgates/log-events/2026$252F12$252F05$252F$255B$2524LATEST$255Dab"
    )
    assert log_stream_url("not-an-arn", "/aws/lambda/gates", "stream") is None


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            {"Error": "PushRejected", "Cause": '{"errorMessage": "pre-receive hook declined"}'},
            FailureKind.GIT,
        ),
        ({"Error": "GitProviderAuthError", "Cause": "401"}, FailureKind.GIT),
        # A transient failure that outlasted its retries names the original error first.
        ({"Error": "TransientError", "Cause": "PushRaceLost: main moved"}, FailureKind.GIT),
        ({"Error": "TransientError", "Cause": "ThrottlingException: slow down"}, FailureKind.OTHER),
        ({"Error": "States.Timeout"}, FailureKind.OTHER),
        ({"Error": "PromotionError", "Cause": "no application"}, FailureKind.OTHER),
    ],
)
def test_other_failures_are_told_by_the_error_the_state_machine_caught(error, kind):
    failure = failure_of(EnvironmentRun(name="qa"), StepError.from_catch(error))

    assert failure.kind is kind
    assert failure.check is None
    assert failure.message.startswith(error["Error"])


def test_the_git_errors_are_every_error_of_the_git_engine_and_the_git_hosts():
    def named(error: type) -> set[str]:
        return {error.__name__}.union(*(named(sub) for sub in error.__subclasses__()))

    assert GIT_ERRORS == named(GitError) | named(GitProviderError)
    assert GATE_FAILED == GateFailed.__name__


def test_the_engine_records_why_an_environment_failed_and_what_was_terminated(store, release):
    engine = ReleaseEngine(store, RecordingTokens())
    engine.begin(release.id)
    for name in ("qa", "staging", "prod"):
        engine.gate(release.id, name, f"t-{name}")
    now = clock.now()
    store.record_check(
        release.id,
        "qa",
        evaluation("smoke", CheckState.FAILED, first=True, since=now, now=now, reason="status was frozen"),
    )

    engine.complete(
        release.id, "qa", succeeded=False, error={"Error": "GateFailed", "Cause": "smoke: status was frozen"}
    )
    engine.complete(
        release.id, "staging", succeeded=False, error={"Error": "PushRejected", "Cause": "declined"}
    )
    engine.settle(release.id)

    read = store.get(release.id)
    assert read.environment("qa").failure == EnvironmentFailure(
        kind=FailureKind.CHECK, check="smoke", message="smoke: status was frozen"
    )
    assert read.environment("staging").failure == EnvironmentFailure(
        kind=FailureKind.GIT, message="PushRejected: declined"
    )
    assert read.environment("prod").failure == EnvironmentFailure(
        kind=FailureKind.TERMINATED, message="not started: qa failed"
    )
    assert read.environment("dev").failure is None

    engine.close(release.id, succeeded=False)
    engine.reopen(release.id)
    reopened = store.get(release.id)
    assert [run.status for run in reopened.promoted_environments] == [EnvironmentStatus.PENDING] * 3
    assert all(run.failure is None for run in reopened.environments), "a retry starts without the old failure"
    assert reopened.environment("qa").checks == (), "nor with the checks of the failed run"
