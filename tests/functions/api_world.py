"""A world for the API function: moto, the demo's configuration and GitOps repository on disk, the releases
table as template.yaml declares it, and a state machine whose executions are listed rather than run. Requests
reach the handler as API Gateway's HTTP API sends them (the upstream fixture's shape), after its authorizer."""

from __future__ import annotations

import importlib.util
import json
import re
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from promotions import runtime
from promotions_local.demo import create_demo_repository, write_demo_configuration
from promotions_local.git_server import create_bare_repository
from promotions_local.stack_template import load_template_body

REPO = Path(__file__).resolve().parents[2]
TABLE = "promotions-api-test"
ALICE_ARN = "arn:aws:sts::123456789012:assumed-role/Deployer/alice"
# A session of a role the world's permissions let trigger, promote and retry in non-prod environments alone.
QA_ARN = "arn:aws:sts::123456789012:assumed-role/QaDeployer/quinn"
# Who may do what in this world: every session of the Deployer role, the JWT subject 00u1 and the JWT group
# release-managers everything; the QaDeployer role's sessions what QA_ARN says.
PERMISSIONS = {
    "apiVersion": "promotions.dev/v1alpha1",
    "kind": "PromotionPermissions",
    "metadata": {"name": "api-world"},
    "spec": {
        "rules": [
            {
                "subjects": [
                    {"iamPrincipal": "arn:aws:sts::123456789012:assumed-role/Deployer/*"},
                    {"jwtSubject": "00u1"},
                    {"jwtGroup": "release-managers"},
                ],
                "verbs": ["trigger", "promote", "rollback", "approve", "retry", "terminate"],
            },
            {
                "subjects": [{"iamPrincipal": "arn:aws:sts::123456789012:assumed-role/QaDeployer/*"}],
                "verbs": ["trigger", "promote", "retry"],
                "environments": {"kinds": ["non-prod"]},
            },
        ]
    },
}


def promotions_table_from_template() -> dict[str, Any]:
    """template.yaml's PromotionsTable, indexes included, as a CreateTable request."""
    properties = load_template_body(REPO / "template.yaml")["Resources"]["PromotionsTable"]["Properties"]
    return {
        "TableName": TABLE,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "GlobalSecondaryIndexes": properties["GlobalSecondaryIndexes"],
    }


class Context:
    function_name = "api"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    memory_limit_in_mb = 512
    aws_request_id = "req-1"
    log_group_name = log_stream_name = "api"

    def get_remaining_time_in_millis(self):
        return 10_000


class Api:
    """Sends requests to the handler as API Gateway's HTTP API would, after its authorizer."""

    def __init__(self, module: Any, shape: dict, state_machine_arn: str, gitops: Path) -> None:
        self.module = module
        self._shape = shape
        self.state_machine_arn = state_machine_arn
        self.gitops = gitops

    def event(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        authorizer: dict | None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict:
        event = json.loads(json.dumps(self._shape))
        event.update(
            routeKey="ANY /api/v1/{proxy+}",
            rawPath=path,
            rawQueryString="&".join(f"{k}={v}" for k, v in (query or {}).items()),
            queryStringParameters=query,
            headers={"content-type": "application/json", **(headers or {})},
            body=None if body is None else (body if isinstance(body, str) else json.dumps(body)),
            pathParameters={"proxy": path.removeprefix("/api/v1/")},
            isBase64Encoded=False,
        )
        event.pop("cookies")
        event["requestContext"]["http"].update(method=method, path=path)
        event["requestContext"]["requestId"] = uuid.uuid4().hex
        event["requestContext"].pop("authentication")
        if authorizer is None:
            event["requestContext"].pop("authorizer")
        else:
            event["requestContext"]["authorizer"] = authorizer
        return event

    def call(self, method: str, path: str, body: Any = None, *, authorizer: dict | None = None, **kw) -> dict:
        if authorizer is None:
            authorizer = iam(ALICE_ARN)
        return self.module.handler(self.event(method, path, body, authorizer=authorizer, **kw), Context())

    def anonymous(self, method: str, path: str, body: Any = None) -> dict:
        return self.module.handler(self.event(method, path, body, authorizer=None), Context())

    def executions(self) -> list[str]:
        listed = boto3.client("stepfunctions").list_executions(stateMachineArn=self.state_machine_arn)
        return sorted(execution["name"] for execution in listed["executions"])

    def stored_items(self) -> int:
        return boto3.client("dynamodb").scan(TableName=TABLE, Select="COUNT")["Count"]


def iam(user_arn: str) -> dict:
    """requestContext.authorizer as API Gateway fills it for a SigV4-signed request (payload format 2.0)."""
    return {
        "iam": {
            "accessKey": "ASIAEXAMPLE",
            "accountId": "123456789012",
            "callerId": "AROAEXAMPLE:alice",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": user_arn,
            "userId": "AROAEXAMPLE:alice",
        }
    }


def demo_version(environment: str) -> str:
    """The appVersion the demo's GitOps repository holds for `environment` (the template's versionSource)."""
    chart = (REPO / "examples" / "demo" / "gitops" / "apps" / "api" / environment / "Chart.yaml").read_text()
    return re.search(r'^appVersion: "([^"]+)"', chart, re.MULTILINE).group(1)


def body(response: dict) -> Any:
    return json.loads(response["body"])


@pytest.fixture
def api(aws, monkeypatch, tmp_path, upstream_events) -> Api:
    gitops = tmp_path / "gitops.git"
    create_demo_repository(gitops)
    config_dir = write_demo_configuration(tmp_path / "config", str(gitops))
    (config_dir / "api-world-permissions.yaml").write_text(json.dumps(PERMISSIONS))
    files = {
        p.relative_to(config_dir).as_posix(): p.read_bytes() for p in config_dir.rglob("*") if p.is_file()
    }
    create_bare_repository(tmp_path / "config.git", files, message="Promotion configuration")
    boto3.client("dynamodb").create_table(**promotions_table_from_template())
    machine = boto3.client("stepfunctions").create_state_machine(
        name="promotions-release",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/release",
    )["stateMachineArn"]
    # The approval routes build their Slack client whatever they are asked: they need the app's secret, as a
    # deployment with Slack has it (without one they answer 500).
    slack_secret = f"promotions-slack-{uuid.uuid4().hex}"  # Powertools caches secrets by name per process
    boto3.client("secretsmanager").create_secret(
        Name=slack_secret, SecretString=json.dumps({"botToken": "xoxb-test", "signingSecret": "test"})
    )
    for name, value in {
        "SLACK_SECRET_ARN": slack_secret,
        "PROMOTIONS_TABLE": TABLE,
        "CONFIG_REPO_URL": str(tmp_path / "config.git"),
        "CONFIG_REPO_BRANCH": "main",
        "STATE_MACHINE_ARN": machine,
    }.items():
        monkeypatch.setenv(name, value)
    runtime.services.cache_clear()
    spec = importlib.util.spec_from_file_location(
        f"api_app_{uuid.uuid4().hex}", REPO / "functions" / "api" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shape = json.loads((upstream_events / "apigw-http-api-v2-event.json").read_text())
    yield Api(module, shape, machine, gitops)
    runtime.services.cache_clear()
