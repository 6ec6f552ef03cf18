"""What `GET /api/v1/releases/{id}` shows of each environment's gates, through the real ASL on the local stack
(issues 12 and 14): each check's latest outcome, who approved, and why an environment failed."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

import pytest

from promotions.git import GitRemote
from promotions_local.api_server import PROTECTED_ROUTE, http_api_event, http_response
from promotions_local.fakes import ArgoAppState, FakeArgoCd
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions
from promotions_local.slack_server import SlackStandIn
from tests.e2e.conftest import board_check, document, write_documents
from tests.e2e.test_approvals import approval_documents, finished, waiting_for_people

pytestmark = pytest.mark.slow

READER = "arn:aws:iam::123456789012:role/dashboard"
# The demo's permissions let the local API's token holder do everything.
APPROVER = "local token holder"
ARGOCD_TOKEN = "argocd-token-for-tests"


@pytest.fixture
def world(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        yield gitops_world, gitops_world.write_config(url), url, lambda version: push_version(url, version)


def api(local: LocalPromotions, method: str, path: str, actor: str = READER) -> dict:
    """The API function, as the HTTP API hands it a request its authorizer let in as `actor`."""
    event = http_api_event(
        method,
        f"/api/v1{path}",
        {"content-type": "application/json"},
        b"",
        route_key=PROTECTED_ROUTE,
        authorizer={"lambda": {"actor": actor}},
    )
    status, _, body = http_response(local.stack.invoke("ApiFunction", event))
    assert status == 200, body
    return json.loads(body)


def environments_of(local: LocalPromotions, release_id: str) -> dict[str, dict]:
    return {env["name"]: env for env in api(local, "GET", f"/releases/{release_id}")["environments"]}


def checks_of(environment: dict) -> dict[str, dict]:
    return {check["name"]: check for check in environment["checks"]}


def red_smoke_on_prod(api_server) -> list[dict]:
    """A postAction check on prod that its API always answers red."""
    api_server.route("POST", "/smoke", {"status": "red"})
    smoke = {
        "http": {
            "url": f"{api_server.url}/smoke",
            "method": "POST",
            "successWhen": {"jsonPath": "$.status", "equals": "ok"},
        }
    }
    return [
        document("promotions.dev/v1alpha1", "PromotionCheck", "smoke", smoke),
        document(
            "codefresh.io/v1beta1",
            "PromotionPolicy",
            "smoke-after-prod",
            {
                "priority": 2,
                "selector": {"targetEnvironment": {"names": ["prod"]}},
                "policy": {"postAction": "smoke"},
            },
        ),
    ]


def test_a_polled_check_shows_waiting_then_passed_and_a_failing_check_fails_its_environment(world, api):
    _, config_dir, _, push = world
    board_open = threading.Event()
    api.respond("POST", "/board", lambda _: (200, {"status": "ok" if board_open.is_set() else "busy"}, {}))
    write_documents(
        config_dir,
        "gates.yaml",
        [
            board_check(api, "board", {"environment": "${ENVIRONMENT}"}),
            document(
                "codefresh.io/v1beta1",
                "PromotionPolicy",
                "board-before-qa",
                {
                    "priority": 1,
                    "selector": {"targetEnvironment": {"names": ["qa"]}},
                    "policy": {"preAction": "board"},
                },
            ),
            *red_smoke_on_prod(api),
        ],
    )
    with LocalPromotions(config_dir) as local:
        local.submit_github_push(push("51.0.0"))
        local.process_events()
        release_id = wait_for_release(local)
        deadline = time.monotonic() + 120
        while (board := checks_of(environments_of(local, release_id)["qa"]).get("board")) is None or board[
            "attempts"
        ] < 2:
            assert time.monotonic() < deadline, "qa's board was never polled twice"
            time.sleep(0.2)
        board_open.set()
        [release] = local.wait_until_settled(timeout=180)
        shown = environments_of(local, release_id)

    assert board["outcome"] == "waiting" and '$.status = "busy"' in board["reason"], board
    qa_board = checks_of(shown["qa"])["board"]
    assert qa_board["outcome"] == "passed" and qa_board["reason"] is None
    assert (qa_board["kind"], qa_board["stage"]) == ("http", "preAction")
    assert qa_board["attempts"] > board["attempts"]
    assert datetime.fromisoformat(qa_board["firstEvaluatedAt"]) < datetime.fromisoformat(
        qa_board["lastEvaluatedAt"]
    )
    assert shown["qa"]["failure"] is None and shown["qa"]["status"] == "Successful"

    assert release.status.value == "Failed"
    smoke = checks_of(shown["prod"])["smoke"]
    assert (smoke["outcome"], smoke["stage"], smoke["attempts"]) == ("failed", "postAction", 1)
    assert "red" in smoke["reason"]
    failure = shown["prod"]["failure"]
    assert (failure["kind"], failure["check"]) == ("check", "smoke")
    assert smoke["reason"] in failure["message"]
    assert failure["logsUrl"].startswith("https://") and "log-events" in failure["logsUrl"]


def wait_for_release(local: LocalPromotions, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not local.releases():
        assert time.monotonic() < deadline, "no release started"
        time.sleep(0.1)
    [release] = local.releases()
    return release.id


def test_an_approval_shows_waiting_then_who_approved(world):
    _, config_dir, _, push = world
    (config_dir / "approvals.yaml").write_text(approval_documents(min_approvals=1, also=(APPROVER,)))
    slack = SlackStandIn(users={}, groups={})
    with slack, LocalPromotions(config_dir, slack=slack) as local:
        local.submit_github_push(push("52.0.0"))
        local.process_events()
        waiting = waiting_for_people(local, slack)
        asked = checks_of(environments_of(local, waiting.id)["prod"])["prod-approval"]
        api(local, "POST", f"/releases/{waiting.id}/environments/prod/approve", actor=APPROVER)
        release = finished(local)
        prod = environments_of(local, release.id)["prod"]

    assert (asked["outcome"], asked["kind"], asked["stage"]) == ("waiting", "approval", "preAction")
    assert release.status.value == "Succeeded", release.reason
    assert checks_of(prod)["prod-approval"]["outcome"] == "passed"
    [approval] = prod["approvals"]
    assert (approval["approver"], approval["decision"], approval["reason"]) == (
        APPROVER,
        "approved",
        None,
    )
    assert datetime.fromisoformat(approval["at"]) >= datetime.fromisoformat(asked["firstEvaluatedAt"])
    assert prod["failure"] is None


def test_a_degraded_application_fails_prod_as_application_health(world, upstream_events):
    _, config_dir, url, push = world
    shape = json.loads((upstream_events / "argocd-application.json").read_text())
    environments = config_dir / "environments.yaml"
    remote = GitRemote(url)
    with FakeArgoCd(token=ARGOCD_TOKEN, application_shape=shape) as argocd:
        for app in ("api", "web"):
            argocd.follow(
                f"guestbook-{app}-prod",
                # whatever main holds runs, Degraded
                lambda: ArgoAppState(
                    revisions=(remote.snapshot("main").commit_sha,), health_status="Degraded"
                ),
                namespace="argocd",
            )
        environments.write_text(
            environments.read_text().replace(
                "  kind: prod\n",
                "  kind: prod\n  verification:\n    argocd:\n"
                f"      server: {argocd.url}\n      token: promotions-check-argocd-token\n      timeout: 10\n      pollSeconds: 30\n",
            )
        )
        with LocalPromotions(config_dir) as local:
            local.stack.client("secretsmanager").create_secret(
                Name="promotions-check-argocd-token", SecretString=ARGOCD_TOKEN
            )
            local.submit_github_push(push("53.0.0"))
            local.process_events()
            [release] = local.wait_until_settled(timeout=180)
            prod = environments_of(local, release.id)["prod"]

    [verification] = [check for check in prod["checks"] if check["stage"] == "verification"]
    assert (verification["kind"], verification["outcome"]) == ("argoCdHealth", "failed")
    failure = prod["failure"]
    assert (failure["kind"], failure["check"]) == ("application-health", verification["name"])
    assert "Degraded" in failure["message"] and verification["reason"] in failure["message"]


def test_a_rejected_push_fails_its_environment_as_git(world):
    gitops, config_dir, _, push = world
    pushed = push("54.0.0")
    # From now on the GitOps repository refuses every push, as a protected branch does.
    hook = gitops.repos / "gitops.git" / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    with LocalPromotions(config_dir) as local:
        local.submit_github_push(pushed)
        local.process_events()
        [release] = local.wait_until_settled(timeout=180)
        shown = environments_of(local, release.id)

    failed = {name: env["failure"] for name, env in shown.items() if env["status"] == "Failed"}
    assert failed, f"nothing failed: {release.reason}"
    assert {failure["kind"] for failure in failed.values()} == {"git"}, failed
    assert all(failure["check"] is None for failure in failed.values())
    assert shown["prod"]["status"] == "Terminated" and shown["prod"]["failure"]["kind"] == "terminated"
