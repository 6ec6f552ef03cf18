"""The checks' services on AWS: Secrets Manager (and SSM SecureString parameters, named by their ARN), Lambda,
the shared HTTP client and the engine's clock."""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from promotions import clock
from promotions.checks.services import CheckServices, SecretUnavailable
from promotions.git.credentials import is_ssm_parameter_arn
from promotions.http import HttpClient

# Errors that say the secret cannot be had, as opposed to throttling or outages worth retrying.
_UNAVAILABLE = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure", "ParameterNotFound"}
)

# A check's function may run for Lambda's full 15 minutes; a retried invoke would run it twice.
_LAMBDA_CONFIG = Config(read_timeout=900, connect_timeout=5, retries={"total_max_attempts": 1})


class AwsSecrets:
    """Secrets Manager secrets, and SSM parameters where the id is a parameter's ARN (as the Git credentials
    may be: promotions.git.credentials)."""

    def __init__(self, secretsmanager: Any, ssm: Any) -> None:
        self._secretsmanager = secretsmanager
        self._ssm = ssm

    def secret_string(self, secret_id: str) -> str:
        try:
            if is_ssm_parameter_arn(secret_id):
                return self._ssm.get_parameter(Name=secret_id, WithDecryption=True)["Parameter"]["Value"]
            response = self._secretsmanager.get_secret_value(SecretId=secret_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _UNAVAILABLE:
                raise SecretUnavailable(f"secret {secret_id} cannot be read ({code})") from None
            raise
        if "SecretString" not in response:
            raise SecretUnavailable(f"secret {secret_id} holds binary data, not text")
        return response["SecretString"]


def aws_check_services(session: boto3.Session | None = None) -> CheckServices:
    session = session or boto3.Session()
    return CheckServices(
        http=HttpClient(),
        secrets=AwsSecrets(session.client("secretsmanager"), session.client("ssm")),
        lambda_client=session.client("lambda", config=_LAMBDA_CONFIG),
        now=clock.now,
        secret_prefix=os.environ.get("CHECK_RESOURCE_PREFIX", ""),
    )
