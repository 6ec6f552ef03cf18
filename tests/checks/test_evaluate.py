"""evaluate_checks: order, the first outcome that is not passed, resuming from progress, integrations and the
promotion context a phase exports."""

import json

import pytest
from promotions.checks import (
    Failed,
    Passed,
    PhaseProgress,
    PhaseResult,
    ProgressMismatch,
    Run,
    Wait,
    evaluate_checks,
)

BUILD_SUCCEEDED = {"Build": {"Id": "guestbook-smoke:1", "BuildStatus": "SUCCEEDED"}}


@pytest.fixture
def answers(lambda_client):
    """Lambda checks answer by the `step` in their payload; each call is recorded."""
    by_step = {}
    lambda_client.handler = lambda event: by_step[event["step"]](event)
    return by_step


@pytest.fixture
def step(make_check):
    def make(name):
        return make_check(name, **{"lambda": {"functionName": "gate", "payload": {"step": name}}})

    return make


def invoked(lambda_client):
    return [event["step"] for _, event in lambda_client.calls]


def test_checks_run_in_order_and_the_first_that_does_not_pass_decides(
    step, answers, context, services, lambda_client
):
    answers["tests"] = lambda event: {"result": "passed"}
    answers["approval"] = lambda event: {
        "result": "retry",
        "reason": "waiting for approval",
        "retryAfterSeconds": 120,
    }
    answers["notify"] = lambda event: {"result": "passed"}

    result = evaluate_checks([step("tests"), step("approval"), step("notify")], context, services)

    assert result.outcome == Wait(seconds=120, reason="Lambda function gate: waiting for approval")
    assert result.check == "approval"
    assert result.progress.passed == ("tests",)
    assert invoked(lambda_client) == ["tests", "approval"]


def test_resuming_skips_the_checks_that_passed(step, answers, context, services, lambda_client, clock):
    approvals = iter([{"result": "retry"}, {"result": "passed"}])
    answers["tests"] = lambda event: {"result": "passed"}
    answers["approval"] = lambda event: next(approvals)
    answers["notify"] = lambda event: {"result": "passed"}
    checks = [step("tests"), step("approval"), step("notify")]

    waiting = evaluate_checks(checks, context, services)
    clock.advance(seconds=waiting.outcome.seconds)
    done = evaluate_checks(checks, context, services, progress=waiting.progress)

    assert done.outcome == Passed()
    assert done.check is None
    assert done.progress.passed == ("tests", "approval", "notify")
    assert invoked(lambda_client) == ["tests", "approval", "approval", "notify"]


def test_a_failure_stops_the_phase(step, answers, context, services, lambda_client):
    answers["tests"] = lambda event: {"result": "failed", "reason": "3 tests failed"}

    result = evaluate_checks([step("tests"), step("notify")], context, services)

    assert (result.outcome, result.check) == (Failed(reason="Lambda function gate: 3 tests failed"), "tests")
    assert invoked(lambda_client) == ["tests"]


def test_exported_contexts_reach_later_checks_and_merge_with_later_exports_winning(
    step, answers, context, services, lambda_client
):
    answers["jira"] = lambda event: {
        "result": "passed",
        "PROMOTION_CONTEXT": {"JIRA_ISSUE_URL": "https://jira/OPS-1", "channel": "#dev"},
    }
    answers["slack"] = lambda event: {"result": "passed", "PROMOTION_CONTEXT": {"channel": "#prod"}}
    seeded = context.with_promotion_context({"requested_by": "ana"})

    result = evaluate_checks([step("jira"), step("slack")], seeded, services)

    slack_event = lambda_client.calls[1][1]
    assert slack_event["JIRA_ISSUE_URL"] == "https://jira/OPS-1"
    assert json.loads(slack_event["PROMOTION_CONTEXT"]) == {
        "requested_by": "ana",
        "JIRA_ISSUE_URL": "https://jira/OPS-1",
        "channel": "#dev",
    }
    assert result.context_update == {"JIRA_ISSUE_URL": "https://jira/OPS-1", "channel": "#prod"}


def test_a_run_outcome_is_resumed_with_the_integration_result(
    step, answers, make_check, context, services, lambda_client
):
    answers["jira"] = lambda event: {"result": "passed", "PROMOTION_CONTEXT": {"TICKET": "OPS-1"}}
    answers["notify"] = lambda event: {"result": "passed"}
    checks = [step("jira"), make_check("smoke", codebuild={"project": "guestbook-smoke"}), step("notify")]

    asked = evaluate_checks(checks, context, services)
    resumed = evaluate_checks(
        checks, context, services, progress=asked.progress, integration_result=BUILD_SUCCEEDED
    )

    assert isinstance(asked.outcome, Run)
    assert asked.check == "smoke"
    assert asked.progress.awaiting == "codebuild"
    build_variables = {
        item["Name"]: item["Value"] for item in asked.outcome.parameters["EnvironmentVariablesOverride"]
    }
    assert build_variables["TICKET"] == "OPS-1"
    assert resumed.outcome == Passed()
    assert resumed.progress.passed == ("jira", "smoke", "notify")
    assert resumed.context_update == {"TICKET": "OPS-1"}
    assert invoked(lambda_client) == ["jira", "notify"]


def test_a_failed_integration_fails_the_check_that_asked_for_it(make_check, context, services):
    checks = [make_check("smoke", codebuild={"project": "guestbook-smoke"})]
    asked = evaluate_checks(checks, context, services)

    result = evaluate_checks(
        checks,
        context,
        services,
        progress=asked.progress,
        integration_result={
            "Error": "States.TaskFailed",
            "Cause": json.dumps({"Build": {"Id": "s:2", "BuildStatus": "TIMED_OUT"}}),
        },
    )

    assert (result.outcome, result.check) == (Failed(reason="CodeBuild build s:2 ended TIMED_OUT"), "smoke")


def test_a_phase_without_checks_passes(context, services):
    assert evaluate_checks([], context, services).outcome == Passed()


def test_the_result_travels_through_the_state_machine_as_camel_case_json(
    step, answers, context, services, clock
):
    answers["approval"] = lambda event: {"result": "retry", "retryAfterSeconds": 30}
    checks = [step("approval")]

    state = json.loads(
        json.dumps(evaluate_checks(checks, context, services).model_dump(mode="json", by_alias=True))
    )

    assert state["outcome"] == {"status": "wait", "seconds": 30, "reason": "Lambda function gate: retry"}
    assert state["progress"]["currentSince"] == clock().isoformat().replace("+00:00", "Z")
    assert PhaseResult.model_validate(state).progress == PhaseProgress(
        current="approval", current_since=clock()
    )


def test_progress_that_does_not_fit_the_checks_is_a_wiring_error(step, make_check, context, services):
    build = make_check("smoke", codebuild={"project": "guestbook-smoke"})

    with pytest.raises(ProgressMismatch, match="checks other passed, but this phase runs smoke"):
        evaluate_checks([build], context, services, progress=PhaseProgress(passed=("other",)))
    with pytest.raises(ProgressMismatch, match="no check asked for one"):
        evaluate_checks([build], context, services, integration_result=BUILD_SUCCEEDED)
    with pytest.raises(ProgressMismatch, match="check smoke awaits its codebuild result"):
        evaluate_checks(
            [build], context, services, progress=PhaseProgress(current="smoke", awaiting="codebuild")
        )
    with pytest.raises(ProgressMismatch, match="check notify is a lambda check, which runs no integration"):
        evaluate_checks(
            [step("notify")],
            context,
            services,
            progress=PhaseProgress(current="notify", awaiting="codebuild"),
            integration_result=BUILD_SUCCEEDED,
        )
