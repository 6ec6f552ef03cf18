"""codebuild and stateMachine checks: the Parameters they ask Step Functions to run with, and how they read
what the .sync integration gave back (its output, or the error a Catch recorded)."""

import json

from promotions.checks import Failed, Passed, Run

BUILD_FAILED_IN_TESTS = {
    "Id": "guestbook-smoke:6b1f1a2e-8c51-4f5e-9a43-0c2b8c0e2f11",
    "BuildStatus": "FAILED",
    "Phases": [
        {"PhaseType": "SUBMITTED", "PhaseStatus": "SUCCEEDED"},
        {
            "PhaseType": "BUILD",
            "PhaseStatus": "FAILED",
            "Contexts": [
                {
                    "StatusCode": "COMMAND_EXECUTION_ERROR",
                    "Message": "Error while executing command: pytest. Reason: exit status 1",
                }
            ],
        },
        {"PhaseType": "COMPLETED"},
    ],
}


def test_codebuild_passes_every_variable_as_plaintext_and_path_as_app_path(make_check, context, services):
    smoke = make_check(
        "smoke",
        codebuild={
            "project": "guestbook-smoke",
            "environmentVariables": {"SUITE": "smoke-${ENVIRONMENT}", "VERSION": "v${VERSION}"},
        },
    )
    with_context = context.with_promotion_context({"TICKET": "OPS-7", "not-a-name": "x"})

    outcome = smoke.config.evaluate(with_context, services)

    assert isinstance(outcome, Run)
    assert outcome.integration == "codebuild"
    assert outcome.parameters["ProjectName"] == "guestbook-smoke"
    variables = {item["Name"]: item["Value"] for item in outcome.parameters["EnvironmentVariablesOverride"]}
    assert {item["Type"] for item in outcome.parameters["EnvironmentVariablesOverride"]} == {"PLAINTEXT"}
    assert "PATH" not in variables
    assert variables["APP_PATH"] == "envs/prod"
    assert variables["SUITE"] == "smoke-prod"
    assert variables["VERSION"] == "v1.4.2"
    assert variables["TICKET"] == "OPS-7"
    assert "not-a-name" not in variables
    assert json.loads(variables["PROMOTION_CONTEXT"]) == {"TICKET": "OPS-7", "not-a-name": "x"}
    assert len(variables) == len(outcome.parameters["EnvironmentVariablesOverride"])


def test_a_succeeded_build_passes(make_check):
    smoke = make_check("smoke", codebuild={"project": "guestbook-smoke"})

    assert (
        smoke.config.interpret({"Build": {"Id": "guestbook-smoke:1", "BuildStatus": "SUCCEEDED"}}) == Passed()
    )


def test_a_failed_build_caught_by_the_state_machine_fails_naming_the_build_and_phase(make_check):
    smoke = make_check("smoke", codebuild={"project": "guestbook-smoke"})

    outcome = smoke.config.interpret(
        {"Error": "States.TaskFailed", "Cause": json.dumps({"Build": BUILD_FAILED_IN_TESTS})}
    )

    assert outcome == Failed(
        reason="CodeBuild build guestbook-smoke:6b1f1a2e-8c51-4f5e-9a43-0c2b8c0e2f11 ended FAILED "
        "(BUILD FAILED: Error while executing command: pytest. Reason: exit status 1)"
    )


def test_a_build_that_never_started_fails_with_the_caught_error(make_check):
    smoke = make_check("smoke", codebuild={"project": "guestbook-smoke"})

    outcome = smoke.config.interpret(
        {"Error": "CodeBuild.ResourceNotFoundException", "Cause": "Project cannot be found"}
    )

    assert outcome == Failed(
        reason="CodeBuild project guestbook-smoke did not run: CodeBuild.ResourceNotFoundException Project cannot be found"
    )


ARN = "arn:aws:states:eu-central-1:123456789012:stateMachine:guestbook-e2e"


def test_a_state_machine_gets_every_variable_and_its_input(make_check, context, services):
    e2e = make_check(
        "e2e", stateMachine={"stateMachineArn": ARN, "input": {"suite": "${PRODUCT_NAME}-e2e", "shards": 4}}
    )

    outcome = e2e.config.evaluate(context, services)

    assert outcome == Run(
        integration="stateMachine",
        parameters={
            "StateMachineArn": ARN,
            "Input": context.variables() | {"suite": "guestbook-e2e", "shards": 4},
        },
    )


def test_a_succeeded_execution_passes_and_exports_its_promotion_context(make_check):
    e2e = make_check("e2e", stateMachine={"stateMachineArn": ARN})
    sync_v2_output = {
        "ExecutionArn": f"{ARN}:run-1".replace(":stateMachine:", ":execution:"),
        "Status": "SUCCEEDED",
        "Output": {"passed": 120, "PROMOTION_CONTEXT": {"E2E_REPORT": "s3://reports/run-1"}},
    }

    assert e2e.config.interpret(sync_v2_output) == Passed(context_update={"E2E_REPORT": "s3://reports/run-1"})
    assert e2e.config.interpret(sync_v2_output | {"Output": json.dumps(sync_v2_output["Output"])}) == Passed(
        context_update={"E2E_REPORT": "s3://reports/run-1"}
    )


def test_a_failed_execution_caught_by_the_state_machine_fails_with_its_error(make_check):
    e2e = make_check("e2e", stateMachine={"stateMachineArn": ARN})
    execution = f"{ARN}:run-2".replace(":stateMachine:", ":execution:")
    cause = {
        "ExecutionArn": execution,
        "Status": "FAILED",
        "Error": "SmokeFailed",
        "Cause": "3 of 120 tests failed",
    }

    outcome = e2e.config.interpret({"Error": "States.TaskFailed", "Cause": json.dumps(cause)})

    assert outcome == Failed(
        reason=f"execution {execution} ended FAILED (SmokeFailed: 3 of 120 tests failed)"
    )
