"""The fixture template provisioned on moto: every resource type the runtime supports."""

import json
import os

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel


def test_tables_have_their_keys_indexes_and_ttl(fixture_stack):
    dynamodb = fixture_stack.client("dynamodb")
    table = fixture_stack.resources["Table"]

    description = dynamodb.describe_table(TableName=table.name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]

    assert table.physical_id == table.name == "promotions-local-Table"
    assert table.attributes["Arn"] == description["TableArn"]
    assert description["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert [index["IndexName"] for index in description["GlobalSecondaryIndexes"]] == ["by-kind"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_parameter_overrides_and_conditions_shape_the_resources(fixture_stack):
    # Stage=demo (overriding the default "test") picks the !If branch in NamedTable's TableName.
    assert fixture_stack.resources["NamedTable"].name == "promotions-local-named-demo"
    parameter = fixture_stack.client("ssm").get_parameter(Name="/promotions-local/stage")["Parameter"]
    assert parameter["Value"] == "demo"
    # WithSecret=yes makes the CreateSecret condition true.
    secret = fixture_stack.resources["ApiToken"]
    value = json.loads(
        fixture_stack.client("secretsmanager").get_secret_value(SecretId=secret.arn)["SecretString"]
    )
    assert value["user"] == "fixture"
    assert len(value["password"]) == 24
    assert fixture_stack.outputs["SecretArn"] == secret.arn


def test_the_work_queue_redrives_to_its_dead_letter_queue(fixture_stack):
    work = fixture_stack.resources["WorkQueue"]
    dead_letter = fixture_stack.resources["DeadLetterQueue"]

    attributes = fixture_stack.client("sqs").get_queue_attributes(QueueUrl=work.url, AttributeNames=["All"])[
        "Attributes"
    ]

    assert work.physical_id == work.url
    assert work.attributes["QueueName"] == "promotions-local-WorkQueue"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter.arn,
        "maxReceiveCount": 3,
    }
    assert attributes["VisibilityTimeout"] == "180"


def test_an_event_on_the_bus_reaches_the_queue_its_rule_targets(fixture_stack):
    sqs = fixture_stack.client("sqs")
    work = fixture_stack.resources["WorkQueue"]

    fixture_stack.put_events(
        [
            {
                "EventBusName": fixture_stack.resources["Bus"].name,
                "Source": "fixture.work",
                "DetailType": "Job",
                "Detail": '{"n": 1}',
            },
            {
                "EventBusName": fixture_stack.resources["Bus"].name,
                "Source": "fixture.other",
                "DetailType": "Job",
                "Detail": '{"n": 2}',
            },
        ]
    )
    messages = sqs.receive_message(QueueUrl=work.url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=work.url, ReceiptHandle=message["ReceiptHandle"])

    [envelope] = [json.loads(message["Body"]) for message in messages]
    assert envelope["detail"] == {"n": 1}
    # the whole EventBridge envelope, as AWS delivers it (moto alone leaves out `account`)
    EventBridgeModel.model_validate(envelope)
    assert envelope["account"] == "123456789012" and envelope["source"] == "fixture.work"
    assert fixture_stack.resources["WorkRule"].physical_id == "promotions-local-bus|promotions-local-WorkRule"


def test_functions_are_registered_with_their_configuration(fixture_stack):
    echo = fixture_stack.functions["EchoFunction"]

    configuration = fixture_stack.client("lambda").get_function_configuration(FunctionName=echo.name)

    assert set(fixture_stack.functions) == {
        "EchoFunction",
        "FlakyFunction",
        "OddFunction",
        "PowertoolsFunction",
        "BatchFunction",
        "BarrierFunction",
    }
    assert configuration["FunctionArn"] == echo.arn == fixture_stack.resources["EchoFunction"].arn
    assert configuration["Role"] == fixture_stack.resources["EchoFunctionRole"].arn
    assert (configuration["Handler"], configuration["Timeout"], configuration["MemorySize"]) == (
        "app.handler",
        30,
        256,
    )
    # Globals merged under the function's own variables by SAM's transform, then resolved.
    assert configuration["Environment"]["Variables"] == {
        "FIXTURE_TABLE": "promotions-local-Table",
        "FIXTURE_GREETING": "hi, us-east-1",
        "ECHO_STATE_MACHINE_NAME": "promotions-local-flow",
    }


def test_functions_environment_is_set_in_this_process(fixture_stack):
    assert os.environ["FIXTURE_TABLE"] == "promotions-local-Table"
    assert os.environ["ECHO_STATE_MACHINE_NAME"] == "promotions-local-flow"
    assert os.environ["AWS_ENDPOINT_URL"] == fixture_stack.endpoint_url


def test_invoke_runs_a_handler_through_the_lambda_api(fixture_stack):
    result = fixture_stack.invoke("EchoFunction", {"name": "x"})

    assert result["event"] == {"name": "x"}
    assert result["greeting"] == "hi, us-east-1"


def test_invoke_raises_the_lambda_error_of_a_failing_handler(fixture_stack):
    from promotions_local.stack import FunctionInvocationError

    try:
        fixture_stack.invoke("FlakyFunction", {"error": "GitRejectedError", "repo": "r"})
    except FunctionInvocationError as error:
        assert error.error_type == "GitRejectedError"
        assert error.error_message == "push to r failed"
    else:
        raise AssertionError("the failing handler's error was not raised")


def test_the_state_machine_definition_has_its_substitutions(fixture_stack):
    machine = fixture_stack.resources["FlowStateMachine"]

    description = fixture_stack.client("stepfunctions").describe_state_machine(stateMachineArn=machine.arn)

    assert machine.name == "promotions-local-flow"
    assert description["roleArn"] == fixture_stack.resources["FlowStateMachineRole"].arn
    definition = json.loads(description["definition"])
    arrive = definition["States"]["FanOut"]["ItemProcessor"]["States"]["Arrive"]
    assert arrive["Parameters"]["FunctionName"] == fixture_stack.resources["BarrierFunction"].arn
    assert "${" not in description["definition"]


def test_the_implicit_http_api_routes_its_event_to_the_function(fixture_stack):
    api = fixture_stack.resources["ServerlessHttpApi"]
    apigateway = fixture_stack.client("apigatewayv2")

    [route] = apigateway.get_routes(ApiId=api.physical_id)["Items"]
    integration = apigateway.get_integration(
        ApiId=api.physical_id, IntegrationId=route["Target"].removeprefix("integrations/")
    )

    assert route["RouteKey"] == "POST /echo/{name}"
    assert fixture_stack.resources["EchoFunction"].arn in integration["IntegrationUri"]
    assert integration["PayloadFormatVersion"] == "2.0"


def test_the_implicit_http_api_log_group_and_outputs_exist(fixture_stack):
    api = fixture_stack.resources["ServerlessHttpApi"]

    apis = fixture_stack.client("apigatewayv2").get_apis()["Items"]
    log_groups = fixture_stack.client("logs").describe_log_groups(
        logGroupNamePrefix="promotions-local-AuditLogGroup"
    )

    assert [item["ApiId"] for item in apis] == [api.physical_id]
    assert (
        fixture_stack.outputs["EchoUrl"]
        == f"https://{api.physical_id}.execute-api.us-east-1.amazonaws.com/echo/"
    )
    assert log_groups["logGroups"][0]["retentionInDays"] == 7
    assert fixture_stack.resources["WorkQueuePolicy"].resource_type == "AWS::SQS::QueuePolicy"


def test_a_fan_out_fan_in_state_machine_runs_end_to_end(fixture_stack, run_execution):
    items = ["dev", "qa", "staging", "prod"]

    execution = run_execution(
        fixture_stack.resources["FlowStateMachine"].arn, "fan-out-1", {"run": "r1", "items": items}
    )

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    # Every iteration parked at the barrier before any was released: the Map ran them in parallel.
    assert output["event"] == {"arrivals": [{"item": item} for item in items]}
    assert output["function_name"] == fixture_stack.resources["EchoFunction"].name
