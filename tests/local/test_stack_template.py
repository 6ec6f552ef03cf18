"""Template reading and intrinsic resolution, without a moto server."""

from pathlib import Path

import boto3
import pytest

from promotions_local.stack_template import (
    CloudFormationTemplate,
    IntrinsicResolver,
    PhysicalResource,
    SamTemplate,
    TemplateError,
    load_template_body,
)

PSEUDO = {
    "AWS::StackName": "demo",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
}


def write_template(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


def template_of(tmp_path: Path, text: str) -> SamTemplate:
    return SamTemplate.load(write_template(tmp_path, text))


def cloudformation_of(tmp_path: Path, text: str) -> CloudFormationTemplate:
    """A template without serverless resources, as it is: the transform would pass it through."""
    return CloudFormationTemplate(tmp_path, load_template_body(write_template(tmp_path, text)))


def transformed(tmp_path: Path, text: str) -> CloudFormationTemplate:
    """The template after SAM's transform, with its parameters' defaults, in eu-west-1."""
    template = template_of(tmp_path, text)
    return template.transform(template.parameter_values({}), boto3.session.Session(region_name="eu-west-1"))


def queue(logical_id: str) -> PhysicalResource:
    url = f"http://local/123456789012/{logical_id}"
    arn = f"arn:aws:sqs:eu-west-1:123456789012:{logical_id}"
    return PhysicalResource(
        logical_id=logical_id,
        resource_type="AWS::SQS::Queue",
        physical_id=url,
        attributes={"Arn": arn, "QueueName": logical_id, "QueueUrl": url},
    )


def test_short_tags_read_as_long_form_intrinsics(tmp_path):
    body = load_template_body(
        write_template(
            tmp_path,
            """
Resources:
  Thing:
    Type: AWS::SQS::Queue
    Properties:
      A: !Ref Other
      B: !GetAtt Other.Arn
      C: !Sub "${Other}-x"
      D: !Sub ["${X}", {X: !Ref Other}]
      E: !Join [",", [a, !Ref Other]]
      F: !If [Cond, !Ref Other, !Ref AWS::NoValue]
""",
        )
    )

    properties = body["Resources"]["Thing"]["Properties"]
    assert properties["A"] == {"Ref": "Other"}
    assert properties["B"] == {"Fn::GetAtt": ["Other", "Arn"]}
    assert properties["C"] == {"Fn::Sub": "${Other}-x"}
    assert properties["D"] == {"Fn::Sub": ["${X}", {"X": {"Ref": "Other"}}]}
    assert properties["E"] == {"Fn::Join": [",", ["a", {"Ref": "Other"}]]}
    assert properties["F"] == {"Fn::If": ["Cond", {"Ref": "Other"}, {"Ref": "AWS::NoValue"}]}


def test_loading_a_template_leaves_other_yaml_readers_unaware_of_the_tags(tmp_path):
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import ConstructorError

    load_template_body(
        write_template(tmp_path, "Resources: {Q: {Type: AWS::SQS::Queue, Properties: {A: !Ref B}}}")
    )

    with pytest.raises(ConstructorError):
        YAML(typ="safe", pure=True).load("a: !Ref b")


def test_a_template_without_resources_is_rejected(tmp_path):
    with pytest.raises(TemplateError, match="has no Resources"):
        load_template_body(write_template(tmp_path, "Parameters: {}"))


def test_the_transform_merges_globals_and_adds_roles_event_source_mappings_and_the_http_api(tmp_path):
    template = transformed(
        tmp_path,
        """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Enabled: {Type: String, Default: "yes"}
Conditions:
  IsEnabled: !Equals [!Ref Enabled, "yes"]
Globals:
  Function:
    Runtime: python3.13
    Timeout: 30
    Environment: {Variables: {SHARED: one}}
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Worker:
    Type: AWS::Serverless::Function
    Condition: IsEnabled
    Properties:
      CodeUri: functions/worker/
      Handler: app.handler
      Environment: {Variables: {OWN: two}}
      Events:
        Work: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 3}}
        Hook: {Type: HttpApi, Properties: {Path: /hook, Method: post}}
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties: {Role: !GetAtt Worker.Arn, DefinitionUri: flows/flow.asl.json}
""",
    )

    worker = template.resources["Worker"]
    assert worker["Type"] == "AWS::Lambda::Function"
    assert worker["Condition"] == "IsEnabled"
    assert worker["Properties"]["Timeout"] == 30
    assert worker["Properties"]["Environment"] == {"Variables": {"SHARED": "one", "OWN": "two"}}
    assert worker["Properties"]["Role"] == {"Fn::GetAtt": ["WorkerRole", "Arn"]}
    assert template.resources["WorkerRole"]["Type"] == "AWS::IAM::Role"
    assert template.resources["WorkerRole"]["Condition"] == "IsEnabled"
    mapping = template.resources["WorkerWork"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"]["FunctionName"] == {"Ref": "Worker"}
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert mapping["Properties"]["BatchSize"] == 3
    assert template.resources["ServerlessHttpApi"]["Type"] == "AWS::ApiGatewayV2::Api"
    assert "/hook" in template.resources["ServerlessHttpApi"]["Properties"]["Body"]["paths"]
    flow = template.resources["Flow"]
    assert flow["Type"] == "AWS::StepFunctions::StateMachine"
    assert "FlowRole" not in template.resources


def test_local_folders_handed_to_the_transform_come_back_as_paths_of_the_template(tmp_path):
    template = transformed(
        tmp_path,
        """
Globals:
  Function: {CodeUri: functions/shared/, Runtime: python3.13}
Resources:
  Worker: {Type: AWS::Serverless::Function, Properties: {Handler: app.handler}}
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties: {Role: arn:aws:iam::123456789012:role/flow, DefinitionUri: flows/flow.asl.json}
""",
    )

    code = template.resources["Worker"]["Properties"]["Code"]
    definition = template.resources["Flow"]["Properties"]["DefinitionS3Location"]
    assert template.local_path(code["S3Bucket"], code["S3Key"], "Worker") == tmp_path / "functions/shared"
    assert (
        template.local_path(definition["Bucket"], definition["Key"], "Flow")
        == tmp_path / "flows/flow.asl.json"
    )


def test_code_outside_the_templates_folders_is_refused_by_resource(tmp_path):
    template = transformed(
        tmp_path,
        """
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.handler, Runtime: python3.13, CodeUri: s3://artifacts/worker.zip}
""",
    )

    code = template.resources["Worker"]["Properties"]["Code"]
    with pytest.raises(TemplateError, match="function Worker: .* not from s3://artifacts/worker.zip"):
        template.local_path(code["S3Bucket"], code["S3Key"], "function Worker")


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            """
  Worker: {Type: AWS::Serverless::Function, Properties: {Handler: app.handler, Runtime: python3.13, CodeUri: f/}}
  WorkerRole: {Type: AWS::IAM::Role, Properties: {}}
""",
            (
                r"SAM cannot transform template.yaml: .*\[Worker\] attempts to create a new resource with "
                r"id \[WorkerRole\]"
            ),
        ),
        (
            """
  Worker:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.handler, Runtime: python3.13, CodeUri: f/, Events: {Jobs: {Type: MQ}}}
""",
            r"Resource with id \[WorkerJobs\] is invalid. Missing required property 'Broker'",
        ),
    ],
)
def test_what_the_transform_refuses_is_reported_with_its_resource(tmp_path, resources, message):
    with pytest.raises(TemplateError, match=message):
        transformed(tmp_path, "Resources:" + resources)


PARAMETERS_TEMPLATE = """
Parameters:
  Name: {Type: String}
  Stage: {Type: String, Default: test, AllowedValues: [test, prod]}
  Zones: {Type: CommaDelimitedList, Default: "a, b"}
  Port: {Type: Number, Default: 8080, AllowedPattern: "[0-9]+"}
Resources:
  Q: {Type: AWS::SQS::Queue}
"""


def test_parameters_take_defaults_and_overrides(tmp_path):
    template = template_of(tmp_path, PARAMETERS_TEMPLATE)

    assert template.parameter_values({"Name": "n", "Stage": "prod"}) == {
        "Name": "n",
        "Stage": "prod",
        "Zones": ["a", "b"],
        "Port": "8080",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "parameter Name has no Default"),
        ({"Name": "n", "Stage": "staging"}, "parameter Stage is 'staging', not one of its AllowedValues"),
        ({"Name": "n", "Port": "http"}, "parameter Port is 'http', which does not match"),
        (
            {"Name": "n", "Colour": "red"},
            r"parameters Colour are not declared in template.yaml \(declared: Name, Port, Stage, Zones\)",
        ),
    ],
)
def test_bad_parameter_values_are_rejected_by_name(tmp_path, overrides, message):
    template = template_of(tmp_path, PARAMETERS_TEMPLATE)

    with pytest.raises(TemplateError, match=message):
        template.parameter_values(overrides)


RESOLVER_TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: prod}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsNotProd: !Not [!Condition IsProd]
  ProdAndNotProd: !And [!Condition IsProd, !Condition IsNotProd]
  ProdOrNotProd: !Or [!Condition IsProd, !Condition IsNotProd]
Mappings:
  Sizes: {prod: {memory: 1024}}
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Skipped: {Type: AWS::SQS::Queue, Condition: IsNotProd}
"""


@pytest.fixture
def resolver(tmp_path) -> IntrinsicResolver:
    template = template_of(tmp_path, RESOLVER_TEMPLATE)
    return IntrinsicResolver(
        CloudFormationTemplate(tmp_path, template.body),
        template.parameter_values({}),
        PSEUDO,
        {"Queue": queue("Queue")},
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "Queue"}, "http://local/123456789012/Queue"),
        ({"Ref": "Zones"}, ["a", "b", "c"]),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:123456789012:Queue"),
        ({"Fn::GetAtt": "Queue.QueueName"}, "Queue"),
        (
            {"Fn::Sub": "${AWS::StackName}-${Stage}-${Queue.QueueName}-${!Literal}"},
            "demo-prod-Queue-${Literal}",
        ),
        ({"Fn::Sub": ["${Name}@${AWS::Region}", {"Name": {"Ref": "Stage"}}]}, "prod@eu-west-1"),
        ({"Fn::Join": ["/", [{"Ref": "Stage"}, "x"]]}, "prod/x"),
        ({"Fn::Join": ["+", {"Ref": "Zones"}]}, "a+b+c"),
        ({"Fn::If": ["IsProd", "big", "small"]}, "big"),
        ({"Fn::If": ["IsNotProd", "big", "small"]}, "small"),
        ({"Fn::Select": [1, {"Ref": "Zones"}]}, "b"),
        ({"Fn::Split": [",", "x,y"]}, ["x", "y"]),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "memory"]}, 1024),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"List": ["a", {"Ref": "AWS::NoValue"}], "Gone": {"Ref": "AWS::NoValue"}}, {"List": ["a"]}),
    ],
)
def test_intrinsic_functions_resolve(resolver, expression, expected):
    assert resolver.resolve(expression, "Resources.Thing.Properties") == expected


def test_conditions_combine(resolver):
    assert resolver.condition("IsProd") is True
    assert resolver.condition("IsNotProd") is False
    assert resolver.condition("ProdAndNotProd") is False
    assert resolver.condition("ProdOrNotProd") is True


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Ref": "Nowhere"}, "Resources.Thing.Properties.X: Nowhere is neither a parameter nor a resource"),
        (
            {"Fn::GetAtt": ["Queue", "Colour"]},
            r"AWS::SQS::Queue Queue has no attribute Colour locally \(known: Arn, QueueName, QueueUrl\)",
        ),
        ({"Ref": "Skipped"}, "resource Skipped is not created"),
        ({"Fn::ImportValue": "shared"}, "Fn::ImportValue is not supported by the local runtime"),
        ({"Fn::Sub": "${Zones}"}, r"\$\{Zones\} is not a string"),
        ({"Fn::If": ["Unknown", "a", "b"]}, "condition Unknown is not declared"),
    ],
)
def test_unresolvable_intrinsics_name_where_they_are(resolver, expression, message):
    with pytest.raises(TemplateError, match=message):
        resolver.resolve({"X": expression}, "Resources.Thing.Properties")


def test_creation_order_puts_every_resource_after_what_it_references(tmp_path):
    template = cloudformation_of(
        tmp_path,
        """
Resources:
  Rule: {Type: AWS::Events::Rule, Properties: {Targets: [{Arn: !GetAtt Queue.Arn}], EventBusName: !Ref Bus}}
  Queue: {Type: AWS::SQS::Queue, Properties: {RedrivePolicy: {deadLetterTargetArn: !Sub "${Dlq.Arn}"}}}
  Dlq: {Type: AWS::SQS::Queue}
  Bus:
    Type: AWS::Events::EventBus
    DependsOn: Dlq
    Properties: {Name: !Sub ["${N}", {N: !Ref AWS::StackName}]}
""",
    )

    order = template.creation_order(set(template.resources), {"AWS::StackName"})

    assert order.index("Dlq") < order.index("Queue") < order.index("Rule")
    assert order.index("Dlq") < order.index("Bus") < order.index("Rule")


def test_circular_references_are_reported(tmp_path):
    template = cloudformation_of(
        tmp_path,
        """
Resources:
  A: {Type: AWS::SQS::Queue, Properties: {X: !Ref B}}
  B: {Type: AWS::SQS::Queue, Properties: {X: !GetAtt A.Arn}}
""",
    )

    with pytest.raises(
        TemplateError, match=r"circular dependency between resources: (A -> B -> A|B -> A -> B)"
    ):
        template.creation_order({"A", "B"}, set())


def test_a_reference_to_an_undeclared_name_is_reported_with_its_resource(tmp_path):
    template = cloudformation_of(
        tmp_path, "Resources: {A: {Type: AWS::SQS::Queue, Properties: {X: !Sub '${Missing}'}}}"
    )

    with pytest.raises(
        TemplateError, match="resource A references Missing, which the template does not declare"
    ):
        template.creation_order({"A"}, set())


def test_every_function_of_the_stack_gets_the_git_scratch_space_as_its_tmp():
    """A function's own EphemeralStorage would win over the Globals one and ignore the stack parameter."""
    template = SamTemplate.load(Path(__file__).resolve().parents[2] / "template.yaml")
    values = template.parameter_values({"ConfigRepoUrl": "https://git.example.com/config.git"})
    functions = {
        name: resource["Properties"]
        for name, resource in template.transform(
            values, boto3.session.Session(region_name="eu-west-1")
        ).resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert "PromoteEnvironmentFunction" in functions
    for name, properties in functions.items():
        assert properties["EphemeralStorage"] == {"Size": {"Ref": "GitScratchSpaceMB"}}, name
