"""lambda checks. moto runs Lambda functions only in Docker, so a function's answers come from the fake client
in conftest.py (boto3's invoke response shape); a call that reaches no function uses moto's Lambda API."""

import boto3
import pytest
from moto import mock_aws
from promotions.checks import CheckServices, Failed, Passed, Wait


@pytest.fixture
def gate(make_check):
    return make_check(
        "gate",
        **{
            "lambda": {
                "functionName": "release-gate",
                "payload": {"ticket": "OPS-${VERSION}", "strict": True},
            }
        },
    )


def test_the_function_gets_every_variable_and_the_payload_and_its_context_is_exported(
    gate, context, services, lambda_client
):
    lambda_client.handler = lambda event: {
        "result": "passed",
        "PROMOTION_CONTEXT": {"JIRA_ISSUE_URL": "https://jira/OPS-1"},
    }

    outcome = gate.config.evaluate(context, services)

    assert outcome == Passed(context_update={"JIRA_ISSUE_URL": "https://jira/OPS-1"})
    [(function, event)] = lambda_client.calls
    assert function == "release-gate"
    assert event == context.variables() | {"ticket": "OPS-1.4.2", "strict": True}


def test_a_promotion_context_exported_as_a_json_string_is_parsed(gate, context, services, lambda_client):
    lambda_client.handler = lambda event: {"result": "passed", "PROMOTION_CONTEXT": '{"channel": "#prod"}'}

    assert gate.config.evaluate(context, services) == Passed(context_update={"channel": "#prod"})


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (
            {"result": "failed", "reason": "change freeze"},
            Failed(reason="Lambda function release-gate: change freeze"),
        ),
        (
            {"result": "retry", "reason": "approvals pending", "retryAfterSeconds": 300},
            Wait(seconds=300, reason="Lambda function release-gate: approvals pending"),
        ),
        ({"result": "retry"}, Wait(seconds=60, reason="Lambda function release-gate: retry")),
    ],
)
def test_answers_map_to_outcomes(gate, context, services, lambda_client, answer, outcome):
    lambda_client.handler = lambda event: answer

    assert gate.config.evaluate(context, services) == outcome


def test_a_function_error_fails_with_its_message(gate, context, services, lambda_client):
    lambda_client.function_error = True
    lambda_client.handler = lambda event: {
        "errorMessage": "division by zero",
        "errorType": "ZeroDivisionError",
        "stackTrace": ['  File "/var/task/app.py", line 3, in handler\n'],
    }

    outcome = gate.config.evaluate(context, services)

    assert outcome == Failed(
        reason="Lambda function release-gate failed: ZeroDivisionError: division by zero"
    )


def test_an_answer_of_the_wrong_shape_fails(gate, context, services, lambda_client):
    lambda_client.handler = lambda event: {"ok": True}

    outcome = gate.config.evaluate(context, services)

    assert outcome == Failed(
        reason='Lambda function release-gate answered b\'{"ok": true}\', not {"result": "passed" | "failed" | "retry", '
        '"reason", "retryAfterSeconds", "PROMOTION_CONTEXT"}'
    )


def test_a_function_that_does_not_exist_fails(gate, context, services, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        real_lambda = boto3.client("lambda", region_name="eu-central-1")
        with_moto = CheckServices(
            http=services.http, secrets=services.secrets, lambda_client=real_lambda, now=services.now
        )

        outcome = gate.config.evaluate(context, with_moto)

    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith(
        "Lambda function release-gate could not be invoked (ResourceNotFoundException): "
    )
