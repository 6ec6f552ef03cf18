"""The seams' behaviour through real state machines on the fixture stack."""

import json
from datetime import timedelta

import pytest

from promotions import clock


def lambda_task(function_arn: str, payload: dict, **state) -> dict:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload": payload},
        **state,
    }


def test_an_in_process_handler_result_reaches_the_execution_output(
    fixture_stack, create_state_machine, run_execution
):
    echo = fixture_stack.resources["EchoFunction"]
    arn = create_state_machine(
        "seam-invoke",
        {
            "StartAt": "Echo",
            "States": {"Echo": lambda_task(echo.arn, {"said.$": "$.say"}, OutputPath="$.Payload", End=True)},
        },
    )

    execution = run_execution(arn, "invoke-1", {"say": "ping"})

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["event"] == {"said": "ping"}
    assert output["function_name"] == echo.name
    assert output["greeting"] == "hi, us-east-1"
    assert 0 < output["remaining_ms"] <= 30_000


def test_a_handler_exception_is_caught_by_a_catch_on_its_error_type(
    fixture_stack, create_state_machine, run_execution
):
    flaky = fixture_stack.resources["FlakyFunction"]
    arn = create_state_machine(
        "seam-catch",
        {
            "StartAt": "Push",
            "States": {
                "Push": lambda_task(
                    flaky.arn,
                    {"error.$": "$.error", "repo": "gitops"},
                    Catch=[
                        {"ErrorEquals": ["GitTransientError"], "ResultPath": "$.failure", "Next": "Caught"}
                    ],
                    End=True,
                ),
                "Caught": {"Type": "Pass", "End": True},
            },
        },
    )

    caught = run_execution(arn, "catch-transient", {"error": "GitTransientError"})
    uncaught = run_execution(arn, "catch-rejected", {"error": "GitRejectedError"})

    assert caught["status"] == "SUCCEEDED"
    failure = json.loads(caught["output"])["failure"]
    assert failure["Error"] == "GitTransientError"
    cause = json.loads(failure["Cause"])
    assert cause["errorType"] == "GitTransientError"
    assert cause["errorMessage"] == "push to gitops failed"
    assert any("in handler" in frame for frame in cause["stackTrace"])
    assert uncaught["status"] == "FAILED"
    assert uncaught["error"] == "GitRejectedError"


def test_retry_intervals_fast_forward_the_clock_instead_of_sleeping(
    fixture_stack, create_state_machine, run_execution
):
    flaky = fixture_stack.resources["FlakyFunction"]
    arn = create_state_machine(
        "seam-retry",
        {
            "StartAt": "Push",
            "States": {
                "Push": lambda_task(
                    flaky.arn,
                    {"error": "GitTransientError", "repo": "gitops"},
                    Retry=[
                        {
                            "ErrorEquals": ["GitTransientError"],
                            "IntervalSeconds": 3600,
                            "MaxAttempts": 2,
                            "BackoffRate": 2,
                        }
                    ],
                    Catch=[{"ErrorEquals": ["States.ALL"], "Next": "GaveUp"}],
                    End=True,
                ),
                "GaveUp": {"Type": "Pass", "End": True},
            },
        },
    )
    before = clock.now()

    execution = run_execution(arn, "retry-1", {})

    assert execution["status"] == "SUCCEEDED"
    # Two retries: 3600 s, then 7200 s with the backoff rate of 2.
    assert clock.now() - before >= timedelta(seconds=3 * 3600)
    history = fixture_stack.client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"]
    )
    assert (
        sum(
            event["type"] == "LambdaFunctionFailed" or event["type"] == "TaskFailed"
            for event in history["events"]
        )
        == 3
    )


def test_a_one_hour_wait_completes_at_once_and_advances_the_clock(create_state_machine, run_execution):
    arn = create_state_machine(
        "seam-wait",
        {"StartAt": "Soak", "States": {"Soak": {"Type": "Wait", "Seconds": 3600, "End": True}}},
    )
    before = clock.now()

    execution = run_execution(arn, "wait-1", {})

    assert execution["status"] == "SUCCEEDED"
    assert clock.now() - before >= timedelta(hours=1)


def test_a_timestamp_wait_is_measured_against_the_engine_clock(create_state_machine, run_execution):
    arn = create_state_machine(
        "seam-wait-until",
        {
            "StartAt": "Window",
            "States": {"Window": {"Type": "Wait", "TimestampPath": "$.opens", "End": True}},
        },
    )
    opens = (clock.now() + timedelta(hours=5)).replace(microsecond=0)

    execution = run_execution(arn, "wait-until-1", {"opens": opens.strftime("%Y-%m-%dT%H:%M:%SZ")})

    assert execution["status"] == "SUCCEEDED"
    assert clock.now() >= opens
    # Measured against the real time instead, the wait would overshoot by everything skipped so far.
    assert clock.now() - opens < timedelta(hours=1)


def test_a_malformed_timestamp_still_fails_the_execution_as_on_aws(create_state_machine, run_execution):
    arn = create_state_machine(
        "seam-wait-bad",
        {
            "StartAt": "Window",
            "States": {"Window": {"Type": "Wait", "TimestampPath": "$.opens", "End": True}},
        },
    )

    execution = run_execution(arn, "wait-bad-1", {"opens": "next tuesday"})

    assert execution["status"] == "FAILED"
    assert execution["error"] == "States.Runtime"


def test_powertools_logger_tracer_and_idempotency_work_with_the_context(fixture_stack):
    first = fixture_stack.invoke("PowertoolsFunction", {"order": "o-1"})
    repeated = fixture_stack.invoke("PowertoolsFunction", {"order": "o-1"})
    other = fixture_stack.invoke("PowertoolsFunction", {"order": "o-2"})

    # Idempotency returned the stored result for the repeated order instead of running the handler again.
    assert repeated == first
    assert (first["execution"], other["execution"]) == (1, 2)
    assert first["logged_as"]["function_name"] == fixture_stack.resources["PowertoolsFunction"].name
    assert first["logged_as"]["service"] == "fixture"
    assert first["logged_as"]["function_request_id"] != other["logged_as"]["function_request_id"]


def test_an_unserialisable_result_is_a_marshal_error(fixture_stack):
    response = fixture_stack.client("lambda").invoke(
        FunctionName=fixture_stack.resources["OddFunction"].name, Payload=b"{}"
    )

    assert "FunctionError" in response
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.MarshalError"


def test_a_function_without_a_registered_handler_reports_it(fixture_stack):
    lambda_client = fixture_stack.client("lambda")
    lambda_client.create_function(
        FunctionName="not-in-the-template",
        Runtime="python3.13",
        Role=fixture_stack.resources["EchoFunctionRole"].arn,
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )

    response = lambda_client.invoke(FunctionName="not-in-the-template", Payload=b"{}")

    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Runtime.HandlerNotFound"
    assert "not-in-the-template" in error["errorMessage"]


@pytest.mark.parametrize("payload", [b"", b"{}"])
def test_an_empty_payload_reaches_the_handler_as_an_empty_object(fixture_stack, payload):
    response = fixture_stack.client("lambda").invoke(
        FunctionName=fixture_stack.resources["EchoFunction"].name, Payload=payload
    )

    assert json.loads(response["Payload"].read())["event"] == {}
