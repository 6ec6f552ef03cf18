"""Terminate (by a person, and by the flow's promotionTimeoutLimit) and rollback, through the real state machine
on the local stack, driven through the domain functions the HTTP API calls."""

from __future__ import annotations

import json
import re

import pytest

from promotions import runtime
from promotions.git import GitRemote
from promotions.release.model import Release
from promotions.release.permissions import Identity
from promotions.release.rollback import Rollbacks
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.termination import TIMEOUT_ACTOR
from promotions_local.api_server import LOCAL_ACTOR
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

from .conftest import before_qa_and_staging, board_check, document, wait_for, write_documents

pytestmark = pytest.mark.slow

PROMOTED = ("qa", "staging", "prod")
DEMO_VERSION = "1.4.0"
TAG = re.compile(rb'^\s*tag:\s*"([^"]*)"', re.MULTILINE)
HOST = re.compile(rb"^\s*host:\s*(\S+)", re.MULTILINE)
OPERATOR = "ops@example.com"
# Whom the demo's permissions let do everything.
TOKEN_HOLDER = Identity(actor=LOCAL_ACTOR, token_holder=LOCAL_ACTOR)


def calls(api, path: str) -> list[dict]:
    return [json.loads(request.body or b"{}") for request in api.requests if request.path == path]


def ended(release_id: str, timeout: float = 120) -> Release:
    store = runtime.services().store
    wait_for(lambda: store.get(release_id).status.is_final, f"{release_id} ended", timeout, 0.05)
    return store.get(release_id)


def execution_status(local: LocalPromotions, name: str) -> str:
    machine = local.stack.resources["ReleaseStateMachine"].physical_id
    arn = f"{machine.replace(':stateMachine:', ':execution:')}:{name}"
    return local.stack.client("stepfunctions").describe_execution(executionArn=arn)["status"]


def tag(remote: GitRemote, environment: str) -> str:
    return TAG.search(remote.snapshot("main").read(f"apps/api/{environment}/values.yaml")).group(1).decode()


@pytest.fixture
def world(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        yield gitops_world.write_config(url), GitRemote(url), lambda version: push_version(url, version)


def waiting_board(config_dir, api, flow_settings: str = "") -> None:
    """qa and staging wait for an approval board that keeps answering "pending" (an http check polling every
    minute); the flow's onFail hook reports its ERROR_MESSAGE."""
    api.route("POST", "/board", {"status": "pending"})
    api.route("POST", "/hooks/release-failed", {})
    write_documents(
        config_dir,
        "board.yaml",
        [
            board_check(api, "approval-board", {"environment": "${ENVIRONMENT}"}),
            document(
                "promotions.dev/v1alpha1",
                "PromotionCheck",
                "release-failed",
                {
                    "http": {
                        "url": f"{api.url}/hooks/release-failed",
                        "method": "POST",
                        "body": {"release": "${RELEASE_ID}", "error": "${ERROR_MESSAGE}"},
                    }
                },
            ),
            before_qa_and_staging("approval-board"),
        ],
    )
    flow = config_dir / "promotion-flow.yaml"
    flow.write_text(flow.read_text() + "  hooks:\n    onFail: release-failed\n" + flow_settings)


def assert_nothing_written(remote: GitRemote, release: Release) -> None:
    for environment in PROMOTED:
        run = release.environment(environment)
        assert run.status is EnvironmentStatus.TERMINATED and run.commit is None, environment
        assert tag(remote, environment) == DEMO_VERSION, environment


def test_terminating_a_release_whose_check_still_waits(world, api):
    config_dir, remote, push = world
    waiting_board(config_dir, api)
    pushed = push("30.0.0")

    with LocalPromotions(config_dir) as local:
        local.submit_github_push(pushed)
        local.process_events()
        [release_id] = local.release_ids()
        wait_for(lambda: len(calls(api, "/board")) >= 4, "polling the board", 120, 0.05)

        outcome = runtime.services().termination.terminate(release_id, OPERATOR, reason="wrong build")
        release = ended(release_id)
        stopped = execution_status(local, release_id)
        # one release, run by two executions
        assert local.release_ids() == [release_id]

    assert outcome.status is ReleaseStatus.TERMINATING
    assert release.status is ReleaseStatus.TERMINATED, release.reason
    assert release.reason == f"terminated by {OPERATOR}: wrong build"
    assert_nothing_written(remote, release)
    assert release.environment("qa").reason == f"terminated by {OPERATOR}: wrong build"
    # the flow's onFail hook ran once, told who terminated the release
    [hook] = calls(api, "/hooks/release-failed")
    assert hook == {"release": release_id, "error": f"terminated by {OPERATOR}: wrong build"}
    assert [(entry.actor, entry.action, entry.detail) for entry in release.audit] == [
        (OPERATOR, "terminate", "wrong build")
    ]
    # the release's own execution, which would poll the board for a day, was stopped where it waited (AWS
    # reports ABORTED; moto, stopping inside a Map, FAILED); another execution finished the release
    assert stopped != "RUNNING"


def test_a_release_past_its_promotion_timeout_limit_is_terminated(world, api):
    config_dir, remote, push = world
    waiting_board(config_dir, api, "  promotionTimeoutLimit: 5\n")
    pushed = push("31.0.0")

    with LocalPromotions(config_dir) as local:
        local.submit_github_push(pushed)
        local.process_events()
        [release_id] = local.release_ids()
        release = ended(release_id)

    assert release.status is ReleaseStatus.TERMINATED, release.reason
    assert release.reason.startswith(f"terminated by {TIMEOUT_ACTOR}: PromotionTimedOut: approval-board: ")
    assert "ran past its flow's promotionTimeoutLimit of 5m" in release.reason
    assert_nothing_written(remote, release)
    [hook] = calls(api, "/hooks/release-failed")
    assert hook["error"] == release.reason
    # it gave up at the limit, polling the board about every minute until then
    assert 2 <= len(calls(api, "/board")) <= 2 * 6


def test_rollback_restores_the_earlier_values_keeps_the_environments_own_and_names_the_release(world):
    config_dir, remote, push = world
    before = remote.snapshot("main").read("apps/api/qa/values.yaml")

    with LocalPromotions(config_dir) as local:
        for version in ("40.0.0", "41.0.0"):
            local.submit_github_push(push(version))
            local.process_events()
            local.wait_until_settled(timeout=120)
        older, newer = sorted(local.releases(), key=lambda release: release.created_at)
        assert (older.version, newer.version, tag(remote, "qa")) == ("40.0.0", "41.0.0", "41.0.0")

        parts = runtime.services()
        started = Rollbacks(parts.configs, parts.store, parts.executions).rollback(
            "guestbook", "qa", TOKEN_HOLDER
        )
        rollback = ended(started.id)

    assert rollback.status is ReleaseStatus.SUCCEEDED, rollback.reason
    assert (rollback.rollback_of, rollback.version) == (older.id, "40.0.0")
    qa = rollback.environment("qa")
    assert qa.status is EnvironmentStatus.SUCCESSFUL and qa.commit
    assert f"Promotion-Rollback-Of: {older.id}" in qa.commit_message
    after = remote.snapshot("main")
    assert tag(remote, "qa") == "40.0.0"
    # only qa went back; what qa keeps for itself stayed
    assert {environment: tag(remote, environment) for environment in ("staging", "prod")} == {
        "staging": "41.0.0",
        "prod": "41.0.0",
    }
    assert HOST.search(after.read("apps/api/qa/values.yaml")).group(1) == HOST.search(before).group(1)
    assert [environment.name for environment in rollback.promoted_environments] == ["qa"]
    assert [(entry.actor, entry.action) for entry in rollback.audit] == [(LOCAL_ACTOR, "rollback")]
