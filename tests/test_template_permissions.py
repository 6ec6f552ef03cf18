"""What template.yaml lets each role do, read from the roles SAM's transform writes and resolved as
CloudFormation would: the checks' prefix reaches none of the engine's own functions, state machine or
secrets, and each function has the table and bucket actions its code makes, no more."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest
from promotions_local.stack_template import IntrinsicResolver, PhysicalResource, SamTemplate, TemplateError

TEMPLATE = SamTemplate.load(Path(__file__).resolve().parents[1] / "template.yaml")
PARTITION, REGION, ACCOUNT = "aws", "eu-west-1", "123456789012"
# How CloudFormation names a function the template leaves unnamed: stack-LogicalId-SUFFIX.
GENERATED_SUFFIX = "1A2B3C4D5E6F"
CONFIG_REPO_URL = "https://git.example.com/platform/promotions-config.git"

SECRET_PARAMETERS = (
    "GitCredentialsSecretArn",
    "CommitSigningKeySecretArn",
    "WebhookSecretArn",
    "SlackSecretArn",
)
# Who reads each of the engine's own secrets, and why: nobody else may, whatever the secret is named.
SECRET_READERS = {
    "GitCredentialsSecretArn": {
        "IngestFunction",  # the configuration repository
        "PromoteEnvironmentFunction",  # the GitOps repositories
        "EvaluateGatesFunction",  # the pull request API of a `pr` promotion's pullRequestMerged check
        "ApiFunction",  # the configuration, and the source commits of the releases people ask for
        "ApprovalsFunction",  # the configuration and GitOps repositories, for the changes a message shows
        "NotificationsFunction",  # the configuration, and the Git host API that takes commit statuses
    },
    "CommitSigningKeySecretArn": {"PromoteEnvironmentFunction"},
    "WebhookSecretArn": {"WebhookFunction"},
    # the bot token that posts approval messages, the signing secret Slack's callbacks are verified with
    "SlackSecretArn": {
        "ApprovalsFunction",
        "SlackInteractionsFunction",
        "ApiFunction",
        "FinishReleaseFunction",
        "NotificationsFunction",  # the release's message in its product's channel
    },
}

# The property of each resource SAM gives a role that names the role.
ROLE_PROPERTY = {"AWS::Lambda::Function": "Role", "AWS::StepFunctions::StateMachine": "RoleArn"}

FLOW_TASK_FUNCTIONS = {
    "StartReleaseFunction",
    "GateEnvironmentFunction",
    "PromoteEnvironmentFunction",
    "CompleteEnvironmentFunction",
    "EvaluateGatesFunction",
    "FinishReleaseFunction",
    "ApprovalsFunction",
}

# What each function's code does to each table (promotions.release.store; Powertools idempotency on ingest).
RELEASE_READ_WRITE = {"dynamodb:Query", "dynamodb:UpdateItem"}
# promotions.release.leases: the product's queue and active release, environment locks, a release's execution.
LEASES = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"}
DYNAMODB_ACTIONS = {
    "WebhookFunction": {},
    "IngestFunction": {
        # the last good configuration revision, and the new release written in one transaction; the product's
        # queue and active release; the releases its concurrency policy terminates
        "PromotionsTable": {"dynamodb:GetItem", "dynamodb:PutItem"} | LEASES | RELEASE_READ_WRITE,
        "IdempotencyTable": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
    },
    # and the name of the execution running the release
    "StartReleaseFunction": {"PromotionsTable": RELEASE_READ_WRITE | {"dynamodb:PutItem"}},
    "GateEnvironmentFunction": {"PromotionsTable": RELEASE_READ_WRITE},
    # and the environment's lock
    "PromoteEnvironmentFunction": {"PromotionsTable": RELEASE_READ_WRITE | LEASES},
    "CompleteEnvironmentFunction": {"PromotionsTable": RELEASE_READ_WRITE},
    # merge_promotion_context reads the release item alone before its conditional write
    "EvaluateGatesFunction": {"PromotionsTable": RELEASE_READ_WRITE | {"dynamodb:GetItem"}},
    # and the product's queue and active release; an audit entry when a release runs past its timeout
    "FinishReleaseFunction": {"PromotionsTable": RELEASE_READ_WRITE | LEASES},
    # the release read whole and its statuses changed; approvals put (asked once), read and updated
    # (promotions.release.approvals)
    "ApprovalsFunction": {"PromotionsTable": RELEASE_READ_WRITE | {"dynamodb:GetItem", "dynamodb:PutItem"}},
    "SlackInteractionsFunction": {"PromotionsTable": RELEASE_READ_WRITE | {"dynamodb:GetItem"}},
    # the release read whole, to report it on its commits; where its Slack message is (claimed, read, recorded,
    # given up)
    "NotificationsFunction": {
        "PromotionsTable": {
            "dynamodb:Query",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        }
    },
    # releases read whole and new ones written in one transaction, audit entries put, the configuration's
    # last good revision; listings from the indexes
    "ApiFunction": {
        "PromotionsTable": {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
        | LEASES,
        "PromotionsTable/index/*": {"dynamodb:Query"},
    },
}

S3_ACTIONS = {"WebhookFunction": {"s3:PutObject"}, "IngestFunction": {"s3:GetObject"}}


class Deployment:
    """The template resolved for one stack name and parameter values: each role's statements, and the
    names CloudFormation gives the engine's own resources."""

    def __init__(self, stack_name: str, parameters: dict[str, str]):
        self.stack_name = stack_name
        parameter_values = TEMPLATE.parameter_values({"ConfigRepoUrl": CONFIG_REPO_URL, **parameters})
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self._template = TEMPLATE.transform(parameter_values, boto3.session.Session(region_name=REGION))
        self.resources: dict[str, PhysicalResource] = {}
        self._resolver = IntrinsicResolver(self._template, parameter_values, pseudo, self.resources)
        for logical_id, resource in self._template.resources.items():
            self.resources[logical_id] = self._physical(logical_id, resource)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{resource}"

    def _physical(self, logical_id: str, resource: dict[str, Any]) -> PhysicalResource:
        resource_type = resource["Type"]
        properties = resource.get("Properties") or {}
        generated_name = f"{self.stack_name}-{logical_id}-{GENERATED_SUFFIX}"

        def physical(physical_id: str, arn: str, **attributes: str) -> PhysicalResource:
            return PhysicalResource(
                logical_id=logical_id,
                resource_type=resource_type,
                physical_id=physical_id,
                arn=arn,
                attributes={"Arn": arn, **attributes},
            )

        if resource_type == "AWS::Lambda::Function":
            return physical(generated_name, self.arn("lambda", f"function:{generated_name}"))
        if resource_type == "AWS::StepFunctions::StateMachine":
            name = self._resolver.resolve(properties.get("StateMachineName", generated_name), logical_id)
            arn = self.arn("states", f"stateMachine:{name}")
            return physical(arn, arn, Name=name)
        if resource_type == "AWS::SQS::Queue":
            url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{generated_name}"
            return physical(url, self.arn("sqs", generated_name), QueueName=generated_name)
        if resource_type == "AWS::S3::Bucket":
            name = generated_name.lower()
            return physical(name, f"arn:{PARTITION}:s3:::{name}")
        if resource_type == "AWS::DynamoDB::Table":
            return physical(generated_name, self.arn("dynamodb", f"table/{generated_name}"))
        if resource_type == "AWS::Events::EventBus":
            name = self._resolver.resolve(properties["Name"], logical_id)
            return physical(name, self.arn("events", f"event-bus/{name}"), Name=name)
        return PhysicalResource(
            logical_id=logical_id, resource_type=resource_type, physical_id=generated_name
        )

    def roles(self) -> dict[str, list[dict[str, Any]]]:
        """Each function's and state machine's statements, from the role SAM's transform made for it."""
        roles = {}
        for logical_id, resource in self._template.resources.items():
            if resource["Type"] not in ROLE_PROPERTY:
                continue
            role_id, _ = resource["Properties"][ROLE_PROPERTY[resource["Type"]]]["Fn::GetAtt"]
            policies = self._template.resources[role_id]["Properties"].get("Policies", [])
            roles[logical_id] = [
                statement
                for policy in self._resolver.resolve(policies, role_id)
                for statement in policy["PolicyDocument"]["Statement"]
            ]
        return roles

    def function_arns(self) -> dict[str, str]:
        return {
            logical_id: resource.attributes["Arn"]
            for logical_id, resource in self.resources.items()
            if resource.resource_type == "AWS::Lambda::Function"
        }


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _matches(statement: dict[str, Any], action: str, arn: str) -> bool:
    # IAM compares actions without regard to case and resources with it.
    return any(
        fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(statement["Action"])
    ) and any(fnmatchcase(arn, pattern) for pattern in _listed(statement["Resource"]))


def allowed(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    """IAM's evaluation for identity policies alone: an Allow that matches, and no Deny that does."""
    matching = [statement["Effect"] for statement in statements if _matches(statement, action, arn)]
    return "Allow" in matching and "Deny" not in matching


DEFAULT_PREFIX = TEMPLATE.parameters["CheckResourcePrefix"]["Default"]
DEPLOYMENTS = [
    ("promotions", DEFAULT_PREFIX),
    ("promotions-prod", DEFAULT_PREFIX),
    ("acme-gitops", "acme-check-"),
]


def _secret_arn(name: str) -> str:
    return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"


def _misnamed_secrets(prefix: str) -> dict[str, str]:
    """The engine's own secrets, named as if they were meant for checks: the worst naming a deployer can pick."""
    return {parameter: _secret_arn(f"{prefix}{parameter.lower()}") for parameter in SECRET_PARAMETERS}


@pytest.mark.parametrize(("stack_name", "prefix"), DEPLOYMENTS)
def test_only_the_state_machine_invokes_the_engines_functions(stack_name, prefix):
    deployment = Deployment(stack_name, {"CheckResourcePrefix": prefix})
    functions = deployment.function_arns()
    invoked = {
        (role, function)
        for role, statements in deployment.roles().items()
        for function, arn in functions.items()
        if allowed(statements, "lambda:InvokeFunction", arn)
    }
    assert invoked == {("ReleaseStateMachine", function) for function in FLOW_TASK_FUNCTIONS}


@pytest.mark.parametrize(("stack_name", "prefix"), DEPLOYMENTS)
def test_only_ingest_the_api_and_a_finishing_release_start_the_release_state_machine(stack_name, prefix):
    deployment = Deployment(stack_name, {"CheckResourcePrefix": prefix})
    release_machine = deployment.resources["ReleaseStateMachine"].arn
    starters = {
        role
        for role, statements in deployment.roles().items()
        if allowed(statements, "states:StartExecution", release_machine)
    }
    # a release that ends starts the product's next; one past its timeout, the execution that finishes it
    assert starters == {"IngestFunction", "ApiFunction", "FinishReleaseFunction"}


@pytest.mark.parametrize(("stack_name", "prefix"), DEPLOYMENTS)
def test_only_who_terminates_releases_stops_their_executions(stack_name, prefix):
    deployment = Deployment(stack_name, {"CheckResourcePrefix": prefix})
    machine = deployment.resources["ReleaseStateMachine"].arn
    execution = f"{machine.replace(':stateMachine:', ':execution:')}:guestbook-0123456789ab-0123456789"
    stoppers = {
        role
        for role, statements in deployment.roles().items()
        if allowed(statements, "states:StopExecution", execution)
    }
    # people through the API, a product's terminate policy on a new release, a release past its timeout
    assert stoppers == {"IngestFunction", "ApiFunction", "FinishReleaseFunction"}
    # and they see whether a product's active release still has an execution running it
    readers = {
        role
        for role, statements in deployment.roles().items()
        if allowed(statements, "states:DescribeExecution", execution)
    }
    assert readers == stoppers


@pytest.mark.parametrize(("stack_name", "prefix"), DEPLOYMENTS)
def test_the_engines_secrets_are_read_by_their_own_functions_even_when_named_under_the_check_prefix(
    stack_name, prefix
):
    secrets = _misnamed_secrets(prefix)
    deployment = Deployment(stack_name, {"CheckResourcePrefix": prefix, **secrets})
    roles = deployment.roles()
    readers = {
        parameter: {
            role
            for role, statements in roles.items()
            if allowed(statements, "secretsmanager:GetSecretValue", arn)
        }
        for parameter, arn in secrets.items()
    }
    assert readers == SECRET_READERS


def test_checks_still_reach_what_is_named_under_the_prefix():
    deployment = Deployment("promotions", {})
    roles = deployment.roles()
    name = f"{DEFAULT_PREFIX}smoke"
    assert allowed(
        roles["EvaluateGatesFunction"], "lambda:InvokeFunction", deployment.arn("lambda", f"function:{name}")
    )
    assert allowed(roles["EvaluateGatesFunction"], "secretsmanager:GetSecretValue", _secret_arn(name))
    assert allowed(
        roles["ReleaseStateMachine"],
        "states:StartExecution",
        deployment.arn("states", f"stateMachine:{name}"),
    )
    assert allowed(
        roles["ReleaseStateMachine"], "codebuild:StartBuild", deployment.arn("codebuild", f"project/{name}")
    )


@pytest.mark.parametrize("prefix", ["promotions-", "promotions", "", "promotions-release"])
def test_a_prefix_that_could_cover_the_engines_own_names_is_refused(prefix):
    with pytest.raises(TemplateError, match="CheckResourcePrefix"):
        TEMPLATE.parameter_values({"ConfigRepoUrl": CONFIG_REPO_URL, "CheckResourcePrefix": prefix})


@pytest.mark.parametrize("function", sorted(DYNAMODB_ACTIONS))
def test_each_function_has_the_table_actions_its_code_makes(function):
    deployment = Deployment("promotions", {})
    tables = {
        arn: name
        for logical_id, resource in deployment.resources.items()
        if resource.resource_type == "AWS::DynamoDB::Table"
        for arn, name in ((resource.arn, logical_id), (f"{resource.arn}/index/*", f"{logical_id}/index/*"))
    }
    granted: dict[str, set[str]] = {}
    for statement in deployment.roles()[function]:
        actions = {action for action in _listed(statement["Action"]) if action.startswith("dynamodb:")}
        if not actions:
            continue
        assert statement["Effect"] == "Allow"
        for resource in _listed(statement["Resource"]):
            assert resource in tables, (
                f"{function} is granted {sorted(actions)} on {resource}, not one table or its indexes"
            )
            granted.setdefault(tables[resource], set()).update(actions)
    assert granted == DYNAMODB_ACTIONS[function]


@pytest.mark.parametrize("function", sorted(DYNAMODB_ACTIONS))
def test_only_the_webhook_writes_payloads_and_only_ingest_reads_them(function):
    deployment = Deployment("promotions", {})
    payload_objects = f"{deployment.resources['WebhookPayloadsBucket'].arn}/*"
    granted = set()
    for statement in deployment.roles()[function]:
        actions = {action for action in _listed(statement["Action"]) if action.startswith("s3:")}
        if actions:
            assert _listed(statement["Resource"]) == [payload_objects]
            granted |= actions
    assert granted == S3_ACTIONS.get(function, set())


# Who changes a release's or an environment's status, and so puts the change on the bus (docs/events.md).
STATUS_CHANGERS = {
    "IngestFunction",  # a new release; the releases its product's concurrency policy terminates
    "StartReleaseFunction",
    "GateEnvironmentFunction",
    "PromoteEnvironmentFunction",  # Superseded
    "CompleteEnvironmentFunction",
    "FinishReleaseFunction",
    "ApprovalsFunction",  # Suspended, and an approval's timeout
    "SlackInteractionsFunction",  # a decision resumes the environment
    "ApiFunction",  # releases people ask for, terminate, decisions through the API
}


@pytest.mark.parametrize(("stack_name", "prefix"), DEPLOYMENTS)
def test_only_the_webhook_and_who_changes_statuses_put_events_on_the_bus(stack_name, prefix):
    deployment = Deployment(stack_name, {"CheckResourcePrefix": prefix})
    bus = deployment.resources["EventBus"].arn
    putters = {
        role
        for role, statements in deployment.roles().items()
        if allowed(statements, "events:PutEvents", bus)
    }
    assert putters == {"WebhookFunction"} | STATUS_CHANGERS
