"""A `lambda` check through the real state machine on the local stack: the user's function is registered with
the stack and runs in this process, invoked through the Lambda API by the gate function as on AWS."""

from __future__ import annotations

import json

import pytest

from promotions.git import GitRemote
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow

# Under the template's default CheckResourcePrefix, the only names a check may invoke on AWS.
SMOKE_FUNCTION = "promotions-check-smoke-tests"


def gates(config_dir, *, environments: list[str]) -> None:
    """A `lambda` check named smoke-tests, run after the promotion of each of `environments`."""
    documents = [
        {
            "apiVersion": "promotions.dev/v1alpha1",
            "kind": "PromotionCheck",
            "metadata": {"name": "smoke-tests"},
            "spec": {
                "lambda": {
                    "functionName": SMOKE_FUNCTION,
                    "payload": {"suite": "smoke", "target": "${ENVIRONMENT}"},
                }
            },
        },
        {
            "apiVersion": "codefresh.io/v1beta1",
            "kind": "PromotionPolicy",
            "metadata": {"name": "smoke-after-promotion"},
            "spec": {
                "priority": 1,
                "selector": {"targetEnvironment": {"names": environments}},
                "policy": {"postAction": "smoke-tests"},
            },
        },
    ]
    (config_dir / "gates.yaml").write_text(
        "---\n".join(json.dumps(document) + "\n" for document in documents)
    )


class SmokeTests:
    """The user's check function: fails the environments named in `failing`, with a reason of its own."""

    def __init__(self, failing: frozenset[str] = frozenset()):
        self.failing = failing
        self.events: list[dict] = []

    def __call__(self, event: dict, context) -> dict:
        self.events.append(event)
        if event["target"] in self.failing:
            return {"result": "failed", "reason": f"error rate 7% on {event['target']}'s canary"}
        return {"result": "passed", "PROMOTION_CONTEXT": {"smokeSuite": event["suite"]}}


@pytest.fixture
def world(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        yield gitops_world.write_config(url), url, lambda version: push_version(url, version)


def run(config_dir, push, smoke_tests: SmokeTests):
    with LocalPromotions(config_dir) as local:
        assert local.stack is not None
        local.stack.register_function(SMOKE_FUNCTION, smoke_tests)
        local.submit_github_push(push)
        local.process_events()
        [release] = local.wait_until_settled(timeout=180)
    return release


def test_a_passing_lambda_check_lets_each_environment_through(world):
    config_dir, url, push = world
    gates(config_dir, environments=["qa", "staging", "prod"])
    smoke_tests = SmokeTests()

    release = run(config_dir, push("11.0.0"), smoke_tests)

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    # once per environment, after its commit, with the promotion's variables and the check's payload
    assert sorted(event["target"] for event in smoke_tests.events) == ["prod", "qa", "staging"]
    for event in smoke_tests.events:
        environment = release.environment(event["target"])
        assert event["ENVIRONMENT"] == event["target"] and event["RELEASE_ID"] == release.id
        assert event["VERSION"] == "11.0.0" and event["COMMIT_SHA"] == environment.commit
    # the PROMOTION_CONTEXT of a passing answer is kept with the release
    assert release.promotion_context == {"smokeSuite": "smoke"}
    assert b'"11.0.0"' in GitRemote(url).snapshot("main").read("apps/api/prod/values.yaml")


def test_a_failing_lambda_check_fails_its_environment_with_the_functions_reason(world):
    config_dir, _, push = world
    gates(config_dir, environments=["staging"])
    smoke_tests = SmokeTests(failing=frozenset({"staging"}))

    release = run(config_dir, push("12.0.0"), smoke_tests)

    staging = release.environment("staging")
    assert release.status is ReleaseStatus.FAILED
    assert staging.status is EnvironmentStatus.FAILED
    assert f"Lambda function {SMOKE_FUNCTION}: error rate 7% on staging's canary" in staging.reason
    assert [event["target"] for event in smoke_tests.events] == ["staging"]
    assert release.environment("qa").status is EnvironmentStatus.SUCCESSFUL
    # prod depends on staging: it never starts
    assert release.environment("prod").status is EnvironmentStatus.TERMINATED
