"""The API over HTTP: the local API server in front of the API function, the OpenAPI document fuzzed by
schemathesis through it, and the CLI's client verbs speaking to it."""

from __future__ import annotations

import json

import pytest
import schemathesis
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from typer.testing import CliRunner

from promotions import runtime
from promotions.release.status import ReleaseStatus
from promotions_local.api_server import ApiServer
from promotions_local.cli import app as cli
from tests.functions import api_world
from tests.functions.api_world import Context

# The world's fixture under the name the tests use; here it replaces tests/conftest.py's `api`.
api = api_world.api

TOKEN = "local-test-token"


@pytest.fixture
def served(api):
    with ApiServer(lambda event: api.module.handler(event, Context()), TOKEN) as server:
        yield server


def request(server: ApiServer, method: str, path: str, *, token: str | None = TOKEN, payload=None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    return urllib3.request(
        method,
        f"{server.base_url}{path}",
        headers=headers,
        body=None if payload is None else json.dumps(payload).encode(),
        retries=False,
    )


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_without_the_token_the_server_answers_401_and_the_function_changes_nothing(served, api, token):
    before = api.stored_items()

    response = request(served, "POST", "/api/v1/releases", token=token, payload={"product": "guestbook"})

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Authorization: Bearer" in response.json()["detail"]
    assert api.stored_items() == before and api.executions() == []


def test_with_the_token_the_request_reaches_the_function_as_the_local_caller(served, api):
    response = request(served, "POST", "/api/v1/releases", payload={"product": "guestbook"})

    assert response.status == 201, response.data
    assert response.json()["audit"][0]["actor"] == "local token holder"
    assert api.executions() == [response.json()["id"]]


def test_the_openapi_document_is_served_without_the_token(served):
    response = request(served, "GET", "/api/v1/openapi.json", token=None)

    assert response.status == 200 and "/api/v1/releases" in response.json()["paths"]


def test_no_request_the_openapi_document_allows_is_answered_with_a_server_error(served):
    # The document is read from the running server, so the strategy is built here (schemathesis' own pytest
    # integration does the same through a fixture, but does not run under this pytest).
    schema = schemathesis.openapi.from_url(f"{served.base_url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    answered: set[tuple[str, int]] = set()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=st.one_of(operation.as_strategy() for operation in operations))
    def no_server_error(case):
        response = case.call_and_validate(
            base_url=served.base_url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            checks=[not_a_server_error],
        )
        answered.add((case.operation.label, response.status_code))

    no_server_error()
    assert {label for label, _ in answered} == {operation.label for operation in operations}


def run_cli(served, *arguments: str):
    return CliRunner().invoke(cli, [*arguments, "--api", served.base_url, "--token", TOKEN])


def test_the_cli_triggers_lists_shows_promotes_and_retries_through_the_api(served, api):
    triggered = run_cli(served, "trigger", "guestbook", "--json")
    assert triggered.exit_code == 0, triggered.output
    release = json.loads(triggered.output)

    listed = json.loads(run_cli(served, "release", "list", "--json").output)
    shown = run_cli(served, "release", "show", release["id"])
    promoted = json.loads(run_cli(served, "promote", "guestbook", "--to", "prod", "--json").output)

    assert [listed_release["id"] for listed_release in listed["releases"]] == [release["id"]]
    assert shown.exit_code == 0 and "guestbook" in shown.output and "trigger" in shown.output
    assert promoted["triggerEnvironment"] == "qa"  # the first of prod's step's dependencies
    assert [env["name"] for env in promoted["environments"]] == ["qa", "prod"]


def test_the_cli_prints_the_problem_and_exits_non_zero(served, api):
    release = json.loads(run_cli(served, "trigger", "guestbook", "--json").output)

    refused = run_cli(served, "retry", release["id"])
    missing = run_cli(served, "release", "show", "no-such-release")
    runtime.services().store.set_release_status(release["id"], ReleaseStatus.FAILED, reason="qa failed")
    retried = run_cli(served, "release", "retry", release["id"], "--json")

    assert refused.exit_code == 1 and "Conflict (409)" in refused.output and "Queued" in refused.output
    assert missing.exit_code == 1 and "Not Found (404)" in missing.output
    assert retried.exit_code == 0 and json.loads(retried.output)["audit"][-1]["action"] == "retry"


def test_the_cli_without_credentials_says_what_to_give(served, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    result = CliRunner().invoke(cli, ["release", "list", "--api", served.base_url])

    assert result.exit_code == 1 and "--token" in result.output


def test_the_cli_terminates_rolls_back_and_shows_a_product(served, api):
    active = json.loads(run_cli(served, "trigger", "guestbook", "--json").output)
    waiting = json.loads(run_cli(served, "trigger", "guestbook", "--json").output)

    terminated = run_cli(served, "release", "terminate", waiting["id"], "--reason", "not this one", "--json")
    rolled_back = run_cli(
        served, "rollback", "guestbook", "--environment", "qa", "--to-release", active["id"], "--json"
    )
    shown = run_cli(served, "product", "show", "guestbook")
    product = json.loads(run_cli(served, "product", "show", "guestbook", "--json").output)

    assert terminated.exit_code == 0, terminated.output
    assert json.loads(terminated.output)["status"] == "Terminated"
    assert rolled_back.exit_code == 0, rolled_back.output
    assert json.loads(rolled_back.output)["audit"][0]["action"] == "rollback"
    assert shown.exit_code == 0 and all(name in shown.output for name in ("dev", "qa", "staging", "prod"))
    # The newest release whose flow started from dev's commit; the rollback only read it.
    assert product["environments"][0] == {
        "environment": "dev",
        "version": waiting["version"],
        "commit": waiting["source"]["commit"],
        "since": waiting["createdAt"],
        "release": waiting["id"],
    }
