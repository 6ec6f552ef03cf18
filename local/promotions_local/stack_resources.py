"""Creating a template's resources on the moto server, one resource type at a time.

The resources are CloudFormation's, as SAM's transform leaves them (stack_template). Each provisioner
receives the resource's properties with every intrinsic already resolved and returns the PhysicalResource
that later Refs and Fn::GetAtts read. Lambda functions get a placeholder package (their code runs in this
process, see moto_seams) and SQS event source mappings are recorded for the stack's poller rather than
created in moto, whose own mapping would invoke the function inside SendMessage.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import uuid
import zipfile
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from promotions_local.stack_template import CloudFormationTemplate, PhysicalResource, TemplateError

logger = logging.getLogger(__name__)

# Environment variables the Lambda service sets itself and refuses in a function's configuration.
_LAMBDA_RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

# Types that only grant permissions, observe, or publish an API that nothing calls locally: recorded only.
_RECORDED_ONLY_TYPES = frozenset(
    {"AWS::SQS::QueuePolicy", "AWS::Lambda::Permission", "AWS::CloudWatch::Alarm", "AWS::ApiGatewayV2::Stage"}
)
_RECORDED_ONLY_PREFIXES = ("AWS::IAM::", "AWS::Logs::")

_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)

_RULE_TARGET_KEYS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "SqsParameters",
    "DeadLetterConfig",
    "RetryPolicy",
)

_SUBSTITUTION_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class LocalFunction(BaseModel):
    """A Lambda function of the template whose handler runs in this process."""

    model_config = ConfigDict(frozen=True)

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]


class SqsEventSource(BaseModel):
    """An SQS event source mapping, served by the stack's poller the way the Lambda service would."""

    model_config = ConfigDict(frozen=True)

    logical_id: str
    function_name: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool


def physical_name(stack_name: str, logical_id: str, max_length: int, suffix: str = "") -> str:
    """A deterministic name for a resource the template leaves unnamed, within the service's length limit."""
    name = f"{stack_name}-{logical_id}"
    if len(name) + len(suffix) > max_length:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: max_length - len(suffix) - len(digest) - 1]}-{digest}"
    return name + suffix


@cache
def placeholder_package() -> bytes:
    """The code package of every local Lambda function: its handler runs in this process instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The local runtime runs this function's handler in process.\n")
    return buffer.getvalue()


def _required(properties: Mapping[str, Any], key: str, logical_id: str, resource_type: str) -> Any:
    if key not in properties:
        raise TemplateError(f"{resource_type} {logical_id} has no {key} property")
    return properties[key]


def _attribute_text(value: Any) -> str:
    # CloudFormation passes queue attributes and environment variables as text; booleans read "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class ResourceProvisioner:
    """Creates resources through boto3 clients on the moto server and collects the functions and event
    sources the stack serves in process."""

    def __init__(
        self,
        client: Callable[[str], Any],
        *,
        stack_name: str,
        region: str,
        account_id: str,
        template: CloudFormationTemplate,
    ):
        self._client = client
        self._stack_name = stack_name
        self._region = region
        self._account_id = account_id
        self._template = template
        self.functions: dict[str, LocalFunction] = {}
        self.event_sources: list[SqsEventSource] = []
        self._provisioners: dict[str, Callable[[str, Mapping[str, Any]], PhysicalResource]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._rule,
            "AWS::IAM::Role": self._role,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SSM::Parameter": self._parameter,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::ApiGatewayV2::Api": self._http_api,
        }

    def provision(
        self, logical_id: str, resource_type: str, properties: Mapping[str, Any]
    ) -> PhysicalResource:
        provisioner = self._provisioners.get(resource_type)
        if provisioner is not None:
            try:
                return provisioner(logical_id, properties)
            except (BotoCoreError, ClientError) as exc:
                raise TemplateError(f"creating {resource_type} {logical_id} failed: {exc}") from exc
        if resource_type in _RECORDED_ONLY_TYPES or resource_type.startswith(_RECORDED_ONLY_PREFIXES):
            return self._recorded_only(logical_id, resource_type)
        raise TemplateError(
            f"resource {logical_id} has type {resource_type}, which the local runtime cannot create"
        )

    def _name(self, logical_id: str, max_length: int, suffix: str = "") -> str:
        return physical_name(self._stack_name, logical_id, max_length, suffix)

    def _recorded_only(self, logical_id: str, resource_type: str) -> PhysicalResource:
        logger.debug(
            "%s %s only grants or observes; the local runtime records it without creating it",
            resource_type,
            logical_id,
        )
        return PhysicalResource(
            logical_id=logical_id, resource_type=resource_type, physical_id=self._name(logical_id, 255)
        )

    def _layer(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        # The layer's content is the `promotions` package, already importable in this process; the layer is
        # published only so that its Ref is the ARN of a layer version that exists.
        name = properties.get("LayerName") or self._name(logical_id, 140)
        request: dict[str, Any] = {"LayerName": name, "Content": {"ZipFile": placeholder_package()}}
        if "CompatibleRuntimes" in properties:
            request["CompatibleRuntimes"] = properties["CompatibleRuntimes"]
        arn = self._client("lambda").publish_layer_version(**request)["LayerVersionArn"]
        return PhysicalResource(
            logical_id=logical_id,
            resource_type="AWS::Lambda::LayerVersion",
            physical_id=arn,
            name=name,
            arn=arn,
        )

    def _table(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        resource_type = "AWS::DynamoDB::Table"
        name = properties.get("TableName") or self._name(logical_id, 255)
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": _required(properties, "AttributeDefinitions", logical_id, resource_type),
            "KeySchema": _required(properties, "KeySchema", logical_id, resource_type),
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        }
        if "ProvisionedThroughput" in properties:
            request["ProvisionedThroughput"] = {
                key: int(value) for key, value in properties["ProvisionedThroughput"].items()
            }
        for indexes in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if indexes in properties:
                request[indexes] = [
                    {
                        key: value
                        for key, value in index.items()
                        if key in {"IndexName", "KeySchema", "Projection", "ProvisionedThroughput"}
                    }
                    for index in properties[indexes]
                ]
        if "StreamSpecification" in properties:
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": properties["StreamSpecification"]["StreamViewType"],
            }
        if "Tags" in properties:
            request["Tags"] = properties["Tags"]
        dynamodb = self._client("dynamodb")
        table = dynamodb.create_table(**request)["TableDescription"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and _truthy(ttl.get("Enabled")):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return PhysicalResource(
            logical_id=logical_id,
            resource_type=resource_type,
            physical_id=name,
            name=name,
            arn=table["TableArn"],
            attributes=attributes,
        )

    def _queue(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        fifo = _truthy(properties.get("FifoQueue", False))
        name = properties.get("QueueName") or self._name(logical_id, 80, ".fifo" if fifo else "")
        attributes = {key: _attribute_text(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties}
        request: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        if "Tags" in properties:
            request["tags"] = {tag["Key"]: tag["Value"] for tag in properties["Tags"]}
        sqs = self._client("sqs")
        url = sqs.create_queue(**request)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return PhysicalResource(
            logical_id=logical_id,
            resource_type="AWS::SQS::Queue",
            physical_id=url,
            name=name,
            arn=arn,
            url=url,
            attributes={"Arn": arn, "QueueName": name, "QueueUrl": url},
        )

    def _event_bus(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        name = _required(properties, "Name", logical_id, "AWS::Events::EventBus")
        arn = self._client("events").create_event_bus(Name=name)["EventBusArn"]
        return PhysicalResource(
            logical_id=logical_id,
            resource_type="AWS::Events::EventBus",
            physical_id=name,
            name=name,
            arn=arn,
            attributes={"Arn": arn, "Name": name},
        )

    def _rule(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        name = properties.get("Name") or self._name(logical_id, 64)
        # EventBusName may be given as the bus's name or its ARN.
        bus = str(properties.get("EventBusName", "default")).rsplit("event-bus/", 1)[-1]
        request: dict[str, Any] = {
            "Name": name,
            "EventBusName": bus,
            "State": properties.get("State", "ENABLED"),
        }
        if "EventPattern" in properties:
            request["EventPattern"] = _attribute_text(properties["EventPattern"])
        for key in ("ScheduleExpression", "Description", "RoleArn"):
            if key in properties:
                request[key] = properties[key]
        events = self._client("events")
        arn = events.put_rule(**request)["RuleArn"]
        targets = [
            {key: target[key] for key in _RULE_TARGET_KEYS if key in target}
            for target in properties.get("Targets", [])
        ]
        for target in targets:
            if target["Arn"].split(":")[2] != "sqs":
                logger.warning(
                    "rule %s target %s (%s): moto delivers events only to SQS targets, not to this one",
                    logical_id,
                    target["Id"],
                    target["Arn"],
                )
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return PhysicalResource(
            logical_id=logical_id,
            resource_type="AWS::Events::Rule",
            physical_id=name if bus == "default" else f"{bus}|{name}",
            name=name,
            arn=arn,
            attributes={"Arn": arn},
        )

    def _role(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        name = properties.get("RoleName") or self._name(logical_id, 64)
        trust = _required(properties, "AssumeRolePolicyDocument", logical_id, "AWS::IAM::Role")
        role = self._client("iam").create_role(
            RoleName=name, Path=properties.get("Path", "/"), AssumeRolePolicyDocument=_attribute_text(trust)
        )["Role"]
        return PhysicalResource(
            logical_id=logical_id,
            resource_type="AWS::IAM::Role",
            physical_id=name,
            name=name,
            arn=role["Arn"],
            attributes={"Arn": role["Arn"], "RoleId": role["RoleId"]},
        )

    def _log_group(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        name = properties.get("LogGroupName") or self._name(logical_id, 512)
        logs = self._client("logs")
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in properties:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(properties["RetentionInDays"]))
        arn = f"arn:aws:logs:{self._region}:{self._account_id}:log-group:{name}:*"
        return PhysicalResource(
            logical_id=logical_id,
            resource_type="AWS::Logs::LogGroup",
            physical_id=name,
            name=name,
            arn=arn,
            attributes={"Arn": arn},
        )

    def _bucket(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        # Bucket names are lowercase. Encryption, public access and lifecycle rules are left out: moto's objects
        # live in memory for the stack's life, and nothing reaches them from outside this machine.
        name = properties.get("BucketName") or self._name(logical_id, 63).lower()
        request: dict[str, Any] = {"Bucket": name}
        if self._region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        self._client("s3").create_bucket(**request)
        arn = f"arn:aws:s3:::{name}"
        return PhysicalResource(
            logical_id=logical_id,
            resource_type="AWS::S3::Bucket",
            physical_id=name,
            name=name,
            arn=arn,
            attributes={"Arn": arn, "DomainName": f"{name}.s3.amazonaws.com"},
        )

    def _secret(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        name = properties.get("Name") or self._name(logical_id, 512)
        secrets = self._client("secretsmanager")
        if "SecretString" in properties:
            secret_string = str(properties["SecretString"])
        else:
            secret_string = self._generated_secret(properties.get("GenerateSecretString") or {})
        request: dict[str, Any] = {"Name": name, "SecretString": secret_string}
        if "Description" in properties:
            request["Description"] = properties["Description"]
        arn = secrets.create_secret(**request)["ARN"]
        return PhysicalResource(
            logical_id=logical_id,
            resource_type="AWS::SecretsManager::Secret",
            physical_id=arn,
            name=name,
            arn=arn,
            attributes={"Id": arn},
        )

    def _generated_secret(self, options: Mapping[str, Any]) -> str:
        password_options = {
            key: value
            for key, value in options.items()
            if key not in {"SecretStringTemplate", "GenerateStringKey"}
        }
        password = self._client("secretsmanager").get_random_password(**password_options)["RandomPassword"]
        if "SecretStringTemplate" not in options:
            return password
        document = json.loads(options["SecretStringTemplate"])
        document[options["GenerateStringKey"]] = password
        return json.dumps(document)

    def _parameter(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        resource_type = "AWS::SSM::Parameter"
        name = properties.get("Name") or self._name(logical_id, 1011)
        parameter_type = _required(properties, "Type", logical_id, resource_type)
        value = _attribute_text(_required(properties, "Value", logical_id, resource_type))
        request: dict[str, Any] = {"Name": name, "Type": parameter_type, "Value": value}
        for key in ("Description", "AllowedPattern", "Tier", "DataType"):
            if key in properties:
                request[key] = properties[key]
        self._client("ssm").put_parameter(**request)
        return PhysicalResource(
            logical_id=logical_id,
            resource_type=resource_type,
            physical_id=name,
            name=name,
            attributes={"Type": parameter_type, "Value": value},
        )

    def _function(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        resource_type = "AWS::Lambda::Function"
        code = _required(properties, "Code", logical_id, resource_type)
        code_dir = self._template.local_path(
            code.get("S3Bucket"), code.get("S3Key"), f"function {logical_id}"
        ).resolve()
        if not code_dir.is_dir():
            raise TemplateError(f"function {logical_id}: CodeUri folder {code['S3Key']} does not exist")
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        environment = {name: _attribute_text(value) for name, value in variables.items()}
        reserved = sorted(set(environment) & _LAMBDA_RESERVED_VARIABLES)
        if reserved:
            raise TemplateError(
                f"function {logical_id} sets Lambda's reserved environment variables {', '.join(reserved)}"
            )
        name = properties.get("FunctionName") or self._name(logical_id, 64)
        timeout = int(properties.get("Timeout", 3))
        memory = int(properties.get("MemorySize", 128))
        handler = _required(properties, "Handler", logical_id, resource_type)
        created = self._client("lambda").create_function(
            FunctionName=name,
            Runtime=_required(properties, "Runtime", logical_id, resource_type),
            Role=_required(properties, "Role", logical_id, resource_type),
            Handler=handler,
            Code={"ZipFile": placeholder_package()},
            Timeout=timeout,
            MemorySize=memory,
            Environment={"Variables": environment},
            Description=properties.get("Description", ""),
        )
        self.functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            name=name,
            arn=created["FunctionArn"],
            code_dir=code_dir,
            handler=handler,
            timeout_seconds=timeout,
            memory_mb=memory,
            environment=environment,
        )
        return PhysicalResource(
            logical_id=logical_id,
            resource_type=resource_type,
            physical_id=name,
            name=name,
            arn=created["FunctionArn"],
            attributes={"Arn": created["FunctionArn"]},
        )

    def _event_source_mapping(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        resource_type = "AWS::Lambda::EventSourceMapping"
        function_ref = _required(properties, "FunctionName", logical_id, resource_type)
        function = next(
            (
                function
                for function in self.functions.values()
                if function_ref in {function.name, function.arn}
            ),
            None,
        )
        if function is None:
            raise TemplateError(
                f"event source mapping {logical_id} names {function_ref}, "
                "which is not a function of the template"
            )
        source_arn = _required(properties, "EventSourceArn", logical_id, resource_type)
        if not source_arn.startswith("arn:aws:sqs:"):
            raise TemplateError(
                f"event source mapping {logical_id}: only SQS queues are polled locally, not {source_arn}"
            )
        if "FilterCriteria" in properties:
            logger.warning(
                "event source mapping %s: FilterCriteria is not applied locally; every message is delivered",
                logical_id,
            )
        queue_url = self._client("sqs").get_queue_url(QueueName=source_arn.rsplit(":", 1)[1])["QueueUrl"]
        mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self._stack_name}/{logical_id}"))
        self.event_sources.append(
            SqsEventSource(
                logical_id=logical_id,
                function_name=function.name,
                queue_url=queue_url,
                queue_arn=source_arn,
                batch_size=int(properties.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures"
                in properties.get("FunctionResponseTypes", []),
                enabled=_truthy(properties.get("Enabled", True)),
            )
        )
        return PhysicalResource(logical_id=logical_id, resource_type=resource_type, physical_id=mapping_id)

    def _state_machine(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        resource_type = "AWS::StepFunctions::StateMachine"
        if "Definition" in properties:
            definition = properties["Definition"]
        elif "DefinitionString" in properties:
            definition = json.loads(properties["DefinitionString"])
        else:
            location = _required(properties, "DefinitionS3Location", logical_id, resource_type)
            definition = load_template_definition(
                self._template.local_path(
                    location.get("Bucket"), location.get("Key"), f"state machine {logical_id}"
                ),
                logical_id,
            )
        substitutions = {
            key: _attribute_text(value)
            for key, value in (properties.get("DefinitionSubstitutions") or {}).items()
        }
        definition = substitute_definition(definition, substitutions, logical_id)
        name = properties.get("StateMachineName") or self._name(logical_id, 80)
        arn = self._client("stepfunctions").create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=_required(properties, "RoleArn", logical_id, resource_type),
            type=properties.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        return PhysicalResource(
            logical_id=logical_id,
            resource_type=resource_type,
            physical_id=arn,
            name=name,
            arn=arn,
            attributes={"Arn": arn, "Name": name},
        )

    def _http_api(self, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        resource_type = "AWS::ApiGatewayV2::Api"
        apigateway = self._client("apigatewayv2")
        name = properties.get("Name") or self._name(logical_id, 128)
        api = apigateway.create_api(Name=name, ProtocolType=properties.get("ProtocolType", "HTTP"))
        if "Body" in properties:
            # SAM writes an HttpApi's routes as an OpenAPI body; moto imports its paths as routes (and the
            # API's name from its title), as API Gateway does.
            api = apigateway.reimport_api(ApiId=api["ApiId"], Body=json.dumps(properties["Body"]))
        return PhysicalResource(
            logical_id=logical_id,
            resource_type=resource_type,
            physical_id=api["ApiId"],
            name=api["Name"],
            url=api["ApiEndpoint"],
            attributes={"ApiEndpoint": api["ApiEndpoint"], "ApiId": api["ApiId"]},
        )


def load_template_definition(path: Path, logical_id: str) -> Any:
    """A state machine definition file: JSON, or YAML for a .yaml/.yml file."""
    try:
        body = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(
            f"state machine {logical_id}: cannot read DefinitionUri file {path.name}: {exc}"
        ) from exc
    try:
        if path.suffix in {".yaml", ".yml"}:
            return YAML(typ="safe", pure=True).load(body)
        return json.loads(body)
    except (json.JSONDecodeError, YAMLError) as exc:
        raise TemplateError(
            f"state machine {logical_id}: {path.name} is not a valid definition: {exc}"
        ) from exc


def substitute_definition(definition: Any, substitutions: Mapping[str, str], logical_id: str) -> Any:
    """DefinitionSubstitutions applied to every string of the definition; an unknown `${Name}` is an error."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            raise TemplateError(
                f"state machine {logical_id}: definition uses ${{{key}}}, "
                "which DefinitionSubstitutions does not define"
            )
        return substitutions[key]

    if isinstance(definition, str):
        return _SUBSTITUTION_PLACEHOLDER.sub(replace, definition)
    if isinstance(definition, list):
        return [substitute_definition(item, substitutions, logical_id) for item in definition]
    if isinstance(definition, dict):
        return {
            substitute_definition(key, substitutions, logical_id): substitute_definition(
                value, substitutions, logical_id
            )
            for key, value in definition.items()
        }
    return definition
