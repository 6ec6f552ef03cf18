"""Wiring from the environment: what a warm container keeps between invocations, and what a cold one imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promotions.git.credentials import GitCredentials
from promotions.runtime import Services, Settings

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"
SETTINGS = Settings(
    promotions_table="promotions",
    config_repo_url="https://git.example.invalid/acme/config.git",
    config_repo_branch="main",
    config_path="",
    commit_author_name="Promotions",
    commit_author_email="promotions@example.invalid",
    git_credentials_secret="git-credentials",
    commit_signing_key_secret=None,
)
# What template.yaml and Lambda give every function, with values that reach nothing.
LAMBDA_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_LAMBDA_FUNCTION_NAME": "test",
    "PROMOTIONS_TABLE": "promotions",
    "IDEMPOTENCY_TABLE": "idempotency",
    "CONFIG_REPO_URL": "https://git.example.invalid/acme/config.git",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:release",
    "EVENT_BUS_NAME": "promotions",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters",
    "COMMIT_SIGNING_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:promotions-signing",
    "POWERTOOLS_SERVICE_NAME": "promotions",
}
FUNCTION_NAMES = sorted(path.parent.name for path in FUNCTIONS.glob("*/app.py"))


def modules_after(function: str, code: str, *, tracing: bool) -> set[str]:
    """The top-level names of the modules a fresh interpreter holds after running `code` in `function`'s folder,
    as Lambda runs it (its folder first on the path, LAMBDA_TASK_ROOT set)."""
    folder = FUNCTIONS / function
    environment = {
        **os.environ,
        **LAMBDA_ENVIRONMENT,
        "LAMBDA_TASK_ROOT": str(folder),
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])),
    }
    report = "import json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_a_remote_is_kept_per_repository_until_its_credentials_change():
    secret = {"https://git.example.invalid/": {"token": "first"}}
    services = Services(SETTINGS)
    services.git_credentials = GitCredentials("git-credentials", read_secret=lambda name: secret)
    gitops = services.remote("https://git.example.invalid/acme/gitops.git")

    assert services.remote("https://git.example.invalid/acme/gitops.git") is gitops
    assert services.remote("https://git.example.invalid/acme/other.git") is not gitops

    secret["https://git.example.invalid/"] = {"token": "rotated"}
    assert services.remote("https://git.example.invalid/acme/gitops.git") is not gitops


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_a_handler_loads_neither_the_signing_dependency_nor_the_x_ray_sdk_while_tracing_is_off(function):
    """cryptography lives in a layer only the promote function has, and only with a signing key; the X-Ray SDK
    is a good part of a cold start, paid only where tracing is on."""
    loaded = modules_after(function, "import app", tracing=False)

    assert "cryptography" not in loaded
    assert "aws_xray_sdk" not in loaded


def test_a_handler_is_traced_where_tracing_is_on():
    loaded = modules_after("gate_environment", "import app", tracing=True)

    assert "aws_xray_sdk" in loaded


def test_parking_an_environment_loads_no_git_checks_or_edits():
    """gate_environment's task only records a task token: its engine needs the store and Step Functions."""
    loaded = modules_after(
        "gate_environment",
        "import app\nfrom promotions.runtime import services\nservices().engine",
        tracing=False,
    )

    assert {"promotions.git", "promotions.checks", "promotions.edits", "dulwich"}.isdisjoint(loaded)
    assert {"promotions.release.engine", "boto3"} <= loaded


def test_the_commit_signing_key_loads_cryptography_only_to_sign():
    loaded = modules_after(
        "promote_environment",
        "import app\nfrom promotions.runtime import services\nservices().promoter",
        tracing=False,
    )

    assert "promotions.git.signing_key" in loaded
    assert "cryptography" not in loaded


@pytest.mark.parametrize("function", ["api", "evaluate_gates", "ingest"])
def test_a_handler_imports_no_check_kind_nor_the_parameters_utility_before_using_them(function):
    """A check kind's module is imported when a configuration names the kind; Powertools' parameters utility
    (and boto3 with it) when a secret is read."""
    loaded = modules_after(function, "import app", tracing=False)

    assert {
        "promotions.checks.http_check",
        "promotions.checks.pull_request_merged",
        "promotions.checks.commit_status",
        "aws_lambda_powertools.utilities.parameters",
    }.isdisjoint(loaded)


@pytest.mark.parametrize("function", ["evaluate_gates", "ingest"])
def test_a_handler_imports_the_git_engine_when_it_first_makes_a_remote(function):
    loaded = modules_after(function, "import app", tracing=False)

    assert {"promotions.git", "dulwich"}.isdisjoint(loaded)


def test_ingest_imports_boto3_with_its_first_client():
    """The idempotency utility's DynamoDB client, and every other, is made at first use."""
    assert "boto3" not in modules_after("ingest", "import app", tracing=False)


def test_a_check_imports_only_its_own_kind():
    soak = {"metadata": {"name": "soak"}, "spec": {"soakTime": {"environments": ["qa"], "duration": "1h"}}}
    loaded = modules_after(
        "evaluate_gates",
        f"from promotions.checks import PromotionCheck\nPromotionCheck.model_validate({soak!r})",
        tracing=False,
    )

    assert "promotions.checks.soak_time" in loaded
    assert {
        "promotions.checks.http_check",
        "promotions.checks.window",
        "promotions.checks.approval",
    }.isdisjoint(loaded)


def test_the_webhook_imports_no_pydantic():
    """It verifies deliveries and forwards them as they came: the push parsers' models are ingest's."""
    assert "pydantic" not in modules_after("webhook", "import app", tracing=False)


def test_ingest_imports_the_configuration_and_the_release_store_with_its_first_push():
    loaded = modules_after("ingest", "import app", tracing=False)

    assert {
        "promotions.release.start",
        "promotions.config.models",
        "pynamodb",
        "botocore.retries",
    }.isdisjoint(loaded)


def test_the_api_imports_the_configuration_the_store_and_the_git_engine_with_the_routes_that_use_them():
    loaded = modules_after("api", "import app", tracing=False)

    assert {
        "promotions.config.models",
        "promotions.release.store",
        "pynamodb",
        "promotions.git",
        "dulwich",
    }.isdisjoint(loaded)
