"""The AWS side of the checks' services: Secrets Manager and SSM through moto's real API."""

import json

import boto3
import pytest
from moto import mock_aws
from promotions.checks import CheckServices, Failed, Passed, SecretUnavailable
from promotions.checks.aws import AwsSecrets, aws_check_services


@pytest.fixture
def secretsmanager(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        yield boto3.client("secretsmanager")


def test_http_headers_read_a_field_of_a_json_secret(make_check, context, services, secretsmanager, api):
    arn = secretsmanager.create_secret(Name="smoke", SecretString=json.dumps({"token": "Bearer abc"}))["ARN"]
    api.route("GET", "/smoke", {})
    with_aws = CheckServices(
        http=services.http,
        secrets=AwsSecrets(secretsmanager, boto3.client("ssm")),
        lambda_client=None,
        now=services.now,
    )
    smoke = make_check(
        "smoke",
        http={"url": api.url + "/smoke", "headers": {"Authorization": {"secret": arn, "key": "token"}}},
    )

    assert smoke.config.evaluate(context, with_aws) == Passed()
    assert api.requests[0].headers["Authorization"] == "Bearer abc"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"secret": "missing"}, "secret missing cannot be read (ResourceNotFoundException)"),
        ({"secret": "plain", "key": "token"}, "secret plain has no key token"),
    ],
)
def test_unreadable_secrets_fail_the_check(
    make_check, context, services, secretsmanager, api, header, reason
):
    secretsmanager.create_secret(Name="plain", SecretString="not json")
    with_aws = CheckServices(
        http=services.http,
        secrets=AwsSecrets(secretsmanager, boto3.client("ssm")),
        lambda_client=None,
        now=services.now,
    )
    smoke = make_check("smoke", http={"url": api.url + "/smoke", "headers": {"Authorization": header}})

    assert smoke.config.evaluate(context, with_aws) == Failed(reason=reason)
    assert api.requests == []


def test_the_aws_services_read_secrets_from_secrets_manager(secretsmanager):
    secretsmanager.create_secret(Name="ci/github-token", SecretString="ghp_example")

    assert aws_check_services().secrets.secret_string("ci/github-token") == "ghp_example"


def test_an_ssm_parameter_given_by_its_arn_is_read_as_a_secret(secretsmanager):
    """The Git credentials may be an SSM SecureString: the pullRequestMerged check reads them here."""
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/promotions/git-credentials", Type="SecureString", Value='{"a": 1}')
    arn = ssm.get_parameter(Name="/promotions/git-credentials")["Parameter"]["ARN"]

    secrets = aws_check_services().secrets
    assert secrets.secret_string(arn) == '{"a": 1}'
    with pytest.raises(SecretUnavailable, match=r"cannot be read \(ParameterNotFound\)"):
        secrets.secret_string(arn.replace("git-credentials", "missing"))
