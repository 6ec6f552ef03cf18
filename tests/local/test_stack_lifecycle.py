"""Starting and stopping a LocalStack: clear errors, and nothing left behind in the process."""

import json
import os
import sys
import textwrap
from pathlib import Path

import boto3
import pytest

from promotions_local.stack import (
    EnvironmentConflictError,
    FunctionInvocationError,
    HandlerImportError,
    LocalStack,
    LocalStackError,
    TemplateError,
)

ECHO_HANDLER = "def handler(event, context):\n    return event\n"


def write_stack(tmp_path: Path, resources: str, handlers: dict[str, str] | None = None) -> Path:
    """A template of `resources`, and functions/<folder>/app.py for each of `handlers` (default: an echo)."""
    for folder, source in (handlers or {"one": ECHO_HANDLER}).items():
        code = tmp_path / "functions" / folder
        code.mkdir(parents=True)
        (code / "app.py").write_text(source)
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n" + textwrap.indent(textwrap.dedent(resources), "  "))
    return template


FUNCTION = """
{name}:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: functions/{folder}/
    Handler: app.handler
    Runtime: python3.13
    Environment: {{Variables: {variables}}}
"""


def function(name: str, variables: str = "{}", folder: str = "one") -> str:
    return FUNCTION.format(name=name, variables=variables, folder=folder)


def assert_process_is_free(template: Path) -> None:
    """A failed or stopped stack must leave nothing that stops the next one from starting."""
    with LocalStack(template) as stack:
        assert stack.resources


def test_functions_setting_one_variable_differently_are_rejected_by_name(tmp_path):
    template = write_stack(tmp_path, function("First", "{SHARED: a}") + function("Second", "{SHARED: b}"))

    with pytest.raises(
        EnvironmentConflictError, match="functions First and Second set environment variable SHARED"
    ):
        LocalStack(template).start()

    assert "SHARED" not in os.environ
    assert_process_is_free(write_stack(tmp_path / "ok", function("Only")))


def test_functions_setting_one_variable_alike_share_it(tmp_path):
    template = write_stack(tmp_path, function("First", "{SHARED: a}") + function("Second", "{SHARED: a}"))

    with LocalStack(template):
        assert os.environ["SHARED"] == "a"


def test_a_variable_that_would_point_away_from_moto_is_rejected(tmp_path):
    template = write_stack(tmp_path, function("Only", "{MOTO_PORT: '1'}"))

    with pytest.raises(EnvironmentConflictError, match="functions set MOTO_PORT"):
        LocalStack(template).start()


def test_a_reserved_lambda_variable_is_rejected(tmp_path):
    template = write_stack(tmp_path, function("Only", "{AWS_REGION: eu-west-1}"))

    with pytest.raises(
        TemplateError, match="function Only sets Lambda's reserved environment variables AWS_REGION"
    ):
        LocalStack(template).start()


def test_an_unknown_resource_type_is_rejected_by_name(tmp_path):
    template = write_stack(tmp_path, "Cluster:\n  Type: AWS::ECS::Cluster\n")

    with pytest.raises(
        TemplateError,
        match="resource Cluster has type AWS::ECS::Cluster, which the local runtime cannot create",
    ):
        LocalStack(template).start()

    assert_process_is_free(write_stack(tmp_path / "ok", function("Only")))


def test_a_resource_moto_refuses_is_reported_by_name(tmp_path):
    template = write_stack(
        tmp_path, "Jobs:\n  Type: AWS::SQS::Queue\n  Properties: {QueueName: jobs, FifoQueue: true}\n"
    )

    with pytest.raises(TemplateError, match="creating AWS::SQS::Queue Jobs failed: .*InvalidParameterValue"):
        LocalStack(template).start()


def test_a_handler_that_fails_to_import_is_reported_with_its_function(tmp_path):
    template = write_stack(tmp_path, function("Broken"), {"one": "import not_a_module\n"})

    with pytest.raises(
        HandlerImportError, match=r"function Broken: importing .*app\.py failed with ModuleNotFoundError"
    ):
        LocalStack(template).start()


def test_a_missing_handler_attribute_is_reported(tmp_path):
    template = write_stack(tmp_path, function("Empty"), {"one": "x = 1\n"})

    with pytest.raises(HandlerImportError, match=r"function Empty: app\.py has no callable 'handler'"):
        LocalStack(template).start()


def test_a_missing_parameter_fails_before_anything_starts(tmp_path):
    template = write_stack(tmp_path, "Queue:\n  Type: AWS::SQS::Queue\n")
    template.write_text("Parameters:\n  Url: {Type: String}\n" + template.read_text())

    with pytest.raises(TemplateError, match="parameter Url has no Default"):
        LocalStack(template).start()

    with LocalStack(template, parameters={"Url": "x"}) as stack:
        assert stack.resources["Queue"].name == "promotions-local-Queue"


def test_only_one_stack_runs_per_process(fixture_template):
    with (
        LocalStack(fixture_template),
        pytest.raises(LocalStackError, match="another LocalStack is already running"),
    ):
        LocalStack(fixture_template).start()


def test_handlers_of_several_functions_coexist_and_are_unloaded_on_stop(tmp_path):
    template = write_stack(
        tmp_path,
        function("First") + function("Second", folder="two"),
        {"one": ECHO_HANDLER, "two": "def handler(event, context):\n    return 'second'\n"},
    )

    with LocalStack(template) as stack:
        assert stack.invoke("First", {"n": 1}) == {"n": 1}
        assert stack.invoke("Second", {"n": 1}) == "second"
        loaded = [name for name in sys.modules if name.startswith("_promotions_local_handler_")]

    assert sorted(loaded) == ["_promotions_local_handler_First", "_promotions_local_handler_Second"]
    assert not [name for name in sys.modules if name.startswith("_promotions_local_handler_")]


def test_the_environment_is_pointed_at_moto_and_restored_on_stop(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://elsewhere.example")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.elsewhere.example")
    monkeypatch.setenv("AWS_PROFILE", "someone")
    monkeypatch.delenv("MOTO_PORT", raising=False)
    template = write_stack(tmp_path, function("Only", "{ONLY_VAR: here}"))

    with LocalStack(template, region="eu-west-1") as stack:
        assert os.environ["AWS_ENDPOINT_URL"] == stack.endpoint_url
        assert os.environ["AWS_REGION"] == os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert os.environ["MOTO_PORT"] == stack.endpoint_url.rsplit(":", 1)[1]
        assert os.environ["ONLY_VAR"] == "here"
        assert "AWS_ENDPOINT_URL_DYNAMODB" not in os.environ
        assert "AWS_PROFILE" not in os.environ
        # Code that builds its clients from the environment alone reaches moto.
        assert boto3.client("sqs").list_queues().get("QueueUrls", []) == []

    assert os.environ["AWS_ENDPOINT_URL"] == "https://elsewhere.example"
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == "https://dynamodb.elsewhere.example"
    assert os.environ["AWS_PROFILE"] == "someone"
    assert "MOTO_PORT" not in os.environ
    assert "ONLY_VAR" not in os.environ


def test_pynamodb_reaches_moto_through_the_endpoint_variable(tmp_path):
    from pynamodb.attributes import UnicodeAttribute
    from pynamodb.models import Model

    template = write_stack(
        tmp_path,
        """
        Things:
          Type: AWS::DynamoDB::Table
          Properties:
            TableName: things
            BillingMode: PAY_PER_REQUEST
            AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
            KeySchema: [{AttributeName: id, KeyType: HASH}]
        """,
    )

    class Thing(Model):
        class Meta:
            table_name = "things"

        id = UnicodeAttribute(hash_key=True)

    with LocalStack(template) as stack:
        Thing(id="a").save()
        items = stack.client("dynamodb").scan(TableName="things")["Items"]

    assert items == [{"id": {"S": "a"}}]


def test_stopping_stops_the_executions_still_running(fixture_template):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    never_released = {
        "StartAt": "Park",
        "States": {
            "Park": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "promotions-local-EchoFunction",
                    "Payload": {"token.$": "$$.Task.Token"},
                },
                "End": True,
            }
        },
    }
    with LocalStack(fixture_template) as stack:
        stepfunctions = stack.client("stepfunctions")
        machine_arn = stepfunctions.create_state_machine(
            name="parking",
            definition=json.dumps(never_released),
            roleArn=stack.resources["FlowStateMachineRole"].arn,
        )["stateMachineArn"]
        execution_arn = stepfunctions.start_execution(stateMachineArn=machine_arn, name="parked")[
            "executionArn"
        ]
        execution = stepfunctions_parser_backends["123456789012"]["us-east-1"].describe_execution(
            execution_arn
        )
        assert stack.running_executions() == [execution_arn]

    assert not execution.exec_worker.env.is_running()


def test_a_registered_function_runs_its_handler_in_process_through_the_lambda_api(tmp_path):
    template = write_stack(tmp_path, function("Only"))
    seen = []

    def smoke(event, context):
        seen.append((event, context.function_name, context.get_remaining_time_in_millis() > 0))
        if event.get("fail"):
            raise RuntimeError("the canary is down")
        return {"result": "passed"}

    with LocalStack(template) as stack:
        arn = stack.register_function("promotions-check-smoke", smoke, timeout_seconds=30)
        # as the engine's code reaches it: a client built from the environment alone, by function name
        answer = boto3.client("lambda").invoke(FunctionName="promotions-check-smoke", Payload=b'{"n": 1}')
        with pytest.raises(FunctionInvocationError, match="RuntimeError: the canary is down"):
            stack.invoke(arn, {"fail": True})
        configuration = stack.client("lambda").get_function_configuration(FunctionName=arn)

    assert json.loads(answer["Payload"].read()) == {"result": "passed"}
    assert seen == [
        ({"n": 1}, "promotions-check-smoke", True),
        ({"fail": True}, "promotions-check-smoke", True),
    ]
    assert configuration["Timeout"] == 30
    with LocalStack(template) as stack:
        stack.register_function("promotions-check-smoke", smoke)  # gone with the stack that had it


def test_a_function_name_that_already_runs_a_handler_is_refused(tmp_path):
    template = write_stack(tmp_path, function("Only"))

    def handler(event, context):
        return None

    with LocalStack(template) as stack:
        stack.register_function("promotions-check-once", handler)
        with pytest.raises(
            LocalStackError, match="already runs for the Lambda function 'promotions-check-once'"
        ):
            stack.register_function("promotions-check-once", handler)
        with pytest.raises(LocalStackError, match="promotions-local-Only"):
            stack.register_function(stack.functions["Only"].name, handler)

    with pytest.raises(LocalStackError, match="not running"):
        LocalStack(template).register_function("promotions-check-late", handler)
