"""Approvals in Slack through the real ASL on the local stack (issue 13): the environment waits on a task
token, Suspended, while people click in the Slack stand-in; their clicks reach the callback signed as Slack
signs them."""

from __future__ import annotations

import functools
import json
import time

import pytest
from typer.testing import CliRunner

from promotions import clock
from promotions.git import GitRemote, trailers_of
from promotions.release.model import Release
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.api_server import PROTECTED_ROUTE, ApiServer, http_api_event, http_response
from promotions_local.cli import app
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions
from promotions_local.slack_server import PostedMessage, SlackStandIn

pytestmark = pytest.mark.slow

ALICE, BOB, CAROL, DANA, MALLORY = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DANA001", "U0MALLORY"
# Listed among the approvers, but no permission lets her approve.
ERIN = "U0ERIN001"
RELEASE_MANAGER = "arn:aws:iam::123456789012:role/release-manager"
INTERN = "arn:aws:iam::123456789012:user/intern"
OPS = "S0OPS0001"
CHANNEL = "C0DEPLOYS"


def slack_workspace() -> SlackStandIn:
    """Dana wrote the pushed commit (tests/e2e/conftest.py's developer) and is in the ops group with Carol."""
    return SlackStandIn(
        users={
            ALICE: ("alice", "alice@example.invalid"),
            BOB: ("bob", "bob@example.invalid"),
            CAROL: ("carol", "carol@example.invalid"),
            DANA: ("dana", "dana@example.invalid"),
            MALLORY: ("mallory", "mallory@example.invalid"),
            ERIN: ("erin", "erin@example.invalid"),
        },
        groups={OPS: [CAROL, DANA]},
    )


def approval_documents(*, min_approvals: int, timeout: int | None = None, also: tuple[str, ...] = ()) -> str:
    spec: dict = {
        "approval": {
            "approvers": {"users": [ALICE, BOB, *also], "groups": [OPS]},
            "minApprovals": min_approvals,
            "allowSelfApproval": False,
            "channel": CHANNEL,
        }
    }
    if timeout is not None:
        spec["timeout"] = timeout
    documents = [
        {
            "apiVersion": "promotions.dev/v1alpha1",
            "kind": "PromotionCheck",
            "metadata": {"name": "prod-approval"},
            "spec": spec,
        },
        {
            "apiVersion": "codefresh.io/v1beta1",
            "kind": "PromotionPolicy",
            "metadata": {"name": "prod-approval"},
            "spec": {
                "priority": 1,
                "selector": {"targetEnvironment": {"names": ["prod"]}},
                "policy": {"preAction": "prod-approval"},
            },
        },
        {
            # Everyone here but Erin may approve (the check's approvers then decide who counts); the release
            # manager may terminate too.
            "apiVersion": "promotions.dev/v1alpha1",
            "kind": "PromotionPermissions",
            "metadata": {"name": "approvers"},
            "spec": {
                "rules": [
                    {
                        "subjects": [
                            *({"slackUser": user} for user in (ALICE, BOB, DANA, MALLORY)),
                            {"slackGroup": OPS},
                            {"tokenHolder": INTERN},
                        ],
                        "verbs": ["approve"],
                    },
                    {"subjects": [{"tokenHolder": RELEASE_MANAGER}], "verbs": ["approve", "terminate"]},
                ]
            },
        },
    ]
    return "---\n".join(json.dumps(document) + "\n" for document in documents)


@pytest.fixture
def world(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        config_dir = gitops_world.write_config(url)
        yield config_dir, url, lambda version: push_version(url, version)


def configure(config_dir, **approval) -> None:
    (config_dir / "approvals.yaml").write_text(approval_documents(**approval))


def waiting_for_people(local: LocalPromotions, slack: SlackStandIn, timeout: float = 120) -> Release:
    """The release once prod waits on its approval and the message is out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [release] = local.releases() or [None]
        if (
            release is not None
            and release.environment("prod").status is EnvironmentStatus.SUSPENDED
            and slack.messages
        ):
            return release
        if release is not None and release.status.is_final:
            raise AssertionError(f"the release ended {release.status.value} without asking: {release.reason}")
        time.sleep(0.1)
    raise AssertionError("prod never waited for an approval")


def finished(local: LocalPromotions, timeout: float = 240) -> Release:
    """The release once it ended (LocalPromotions.wait_until_settled stops at Suspended too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        release = current(local)
        if release.status.is_final:
            return release
        time.sleep(0.1)
    raise AssertionError(f"the release is still {current(local).status.value}")


def current(local: LocalPromotions) -> Release:
    [release] = local.releases()
    return release


def prod_tip(url: str) -> str:
    return GitRemote(url).snapshot("main").commit_sha


def test_a_quorum_of_two_distinct_listed_people_promotes_prod_and_the_commit_names_both(world):
    config_dir, url, push = world
    configure(config_dir, min_approvals=2)
    slack = slack_workspace()
    with slack, LocalPromotions(config_dir, slack=slack) as local:
        local.submit_github_push(push("30.0.0"))
        local.process_events()
        waiting = waiting_for_people(local, slack)
        assert waiting.status is ReleaseStatus.SUSPENDED
        message = slack.message_for("prod")
        assert message.channel == CHANNEL
        assert "guestbook" in message.text and "30.0.0" in message.text
        # the dry-run diff of what prod will get
        changes = message.text.split("```")[1]
        assert "+++ b/apps/api/prod/values.yaml" in changes and '+  tag: "30.0.0"' in changes
        tip = prod_tip(url)

        assert slack.approve(message, ALICE)[0] == 200
        assert slack.approve(message, ALICE)[0] == 200  # a double click, or Slack's retry
        after_one = current(local)
        assert after_one.environment("prod").status is EnvironmentStatus.SUSPENDED
        assert after_one.status is ReleaseStatus.SUSPENDED
        assert prod_tip(url) == tip, "nothing is written before the quorum"
        assert "Approvals: 1 of 2 (alice (U0ALICE01))" in message.text

        refused = {
            MALLORY: "not a listed approver",
            DANA: "wrote the commit",  # in the ops group, but the commit is theirs and self-approval is off
        }
        for user, why in refused.items():
            assert slack.approve(message, user)[0] == 200
            assert why in message.text
            assert current(local).environment("prod").status is EnvironmentStatus.SUSPENDED
            assert "Approvals: 1 of 2" in message.text

        forged = slack.approve(message, BOB, secret="not-the-signing-secret")
        unsigned = slack.approve(message, BOB, signed=False)
        stale = slack.approve(message, BOB, timestamp=int(time.time()) - 600)
        assert [forged[0], unsigned[0], stale[0]] == [401, 401, 401]
        assert "Approvals: 1 of 2" in message.text
        assert current(local).environment("prod").status is EnvironmentStatus.SUSPENDED

        assert slack.approve(message, CAROL)[0] == 200  # through the ops group
        release = finished(local)

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    prod = release.environment("prod")
    assert prod.status is EnvironmentStatus.SUCCESSFUL
    assert prod_tip(url) == prod.commit
    approved_by = [
        line.split(": ", 1)[1]
        for line in prod.commit_message.splitlines()
        if line.startswith("Promotion-Approved-By: ")
    ]
    assert sorted(approved_by) == ["alice (U0ALICE01)", "carol (U0CAROL01)"]
    assert trailers_of(prod.commit_message.encode())["Promotion-Environment"] == "prod"
    assert "Approved by" in message.text and slack.message_for("prod").button("promotions-approve") is None


def test_a_rejection_fails_prod_naming_who_and_why_and_runs_its_on_fail_hooks(world, api):
    config_dir, url, push = world
    configure(config_dir, min_approvals=1)
    api.route("POST", "/failed", {"status": "ok"})
    (config_dir / "hooks.yaml").write_text(
        json.dumps(
            {
                "apiVersion": "promotions.dev/v1alpha1",
                "kind": "PromotionCheck",
                "metadata": {"name": "tell-on-fail"},
                "spec": {
                    "http": {
                        "url": f"{api.url}/failed",
                        "method": "POST",
                        "body": {"environment": "${ENVIRONMENT}", "error": "${ERROR_MESSAGE}"},
                    }
                },
            }
        )
    )
    flow = config_dir / "promotion-flow.yaml"
    prod_step = "      dependsOn: [qa, staging]\n"
    flow.write_text(flow.read_text().replace(prod_step, prod_step + "      hooks: {onFail: tell-on-fail}\n"))
    assert "onFail: tell-on-fail" in flow.read_text()
    slack = slack_workspace()
    with slack, LocalPromotions(config_dir, slack=slack) as local:
        local.submit_github_push(push("31.0.0"))
        local.process_events()
        waiting_for_people(local, slack)
        tip = prod_tip(url)
        message = slack.message_for("prod")
        status, _ = slack.reject(message, BOB, "the error budget is spent")
        assert status == 200
        release = finished(local)

    assert release.status is ReleaseStatus.FAILED
    prod = release.environment("prod")
    assert prod.status is EnvironmentStatus.FAILED
    assert "rejected by bob (U0BOB0001): the error budget is spent" in prod.reason
    assert prod_tip(url) == tip
    [hook] = [json.loads(request.body) for request in api.requests if request.path == "/failed"]
    assert hook["environment"] == "prod" and "the error budget is spent" in hook["error"]
    assert "Rejected by bob (U0BOB0001): the error budget is spent" in message.text


def test_an_unanswered_approval_times_out_and_fails_prod(world):
    config_dir, _, push = world
    configure(config_dir, min_approvals=1, timeout=1)
    slack = slack_workspace()
    with slack, LocalPromotions(config_dir, slack=slack) as local:
        local.submit_github_push(push("32.0.0"))
        local.process_events()
        waiting_for_people(local, slack)
        assert current(local).environment("prod").status is EnvironmentStatus.SUSPENDED
        clock.fast_forward(61)  # the task's timeout runs on the engine's clock locally
        release = finished(local)

    assert release.status is ReleaseStatus.FAILED
    prod = release.environment("prod")
    assert prod.status is EnvironmentStatus.FAILED
    assert "approval timed out after 1 minutes" in prod.reason
    message: PostedMessage = slack.message_for("prod")
    assert "Approval timed out after 1 minutes" in message.text
    assert message.button("promotions-approve") is None


def test_local_run_clicks_approve_as_the_slack_users_named(world, tmp_path):
    config_dir, _, push = world
    configure(config_dir, min_approvals=2)
    pushed = tmp_path / "push.json"
    pushed.write_text(json.dumps(push("33.0.0")))
    arguments = ["local", "run", "--config", str(config_dir), "--github-push", str(pushed), "--json"]
    clicks = ["--approve", f"prod={ALICE}", "--approve", f"prod={MALLORY}", "--approve", f"prod={BOB}"]

    result = CliRunner().invoke(app, [*arguments, *clicks])

    assert result.exit_code == 0, result.output
    [release] = json.loads(result.stdout)["releases"]
    assert release["status"] == "Succeeded"
    assert {env["name"]: env["status"] for env in release["environments"]}["prod"] == "Successful"
    said = result.stderr.splitlines()
    assert (
        f"{MALLORY} clicked Approve on prod (HTTP 200): :warning: {MALLORY} may not approve: not a listed approver of prod"
        in said
    )
    assert (
        f"{BOB} clicked Approve on prod (HTTP 200): :white_check_mark: Approved by {ALICE}, {BOB}." in said
        or (
            f"{BOB} clicked Approve on prod (HTTP 200): :white_check_mark: Approved by {BOB}, {ALICE}."
            in said
        )
    )


def api_call(local: LocalPromotions, actor: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
    """The API function as the HTTP API hands it a request its authorizer let in as `actor`."""
    body = json.dumps(payload).encode() if payload is not None else b""
    event = http_api_event(
        "POST",
        f"/api/v1{path}",
        {"content-type": "application/json"},
        body,
        route_key=PROTECTED_ROUTE,
        authorizer={"lambda": {"actor": actor}},
    )
    status, _, answer = http_response(local.stack.invoke("ApiFunction", event))
    return status, json.loads(answer)


def test_the_api_approves_for_an_identity_listed_by_its_own_name_and_refuses_others(world):
    config_dir, _, push = world
    configure(config_dir, min_approvals=1, also=(RELEASE_MANAGER,))
    slack = slack_workspace()
    with slack, LocalPromotions(config_dir, slack=slack) as local:
        local.submit_github_push(push("34.0.0"))
        local.process_events()
        waiting = waiting_for_people(local, slack)
        approve = f"/releases/{waiting.id}/environments/prod/approve"

        status, problem = api_call(local, INTERN, approve)
        assert status == 403
        assert (
            "arn:aws:iam::123456789012:user/intern may not approve: not a listed approver"
            in problem["detail"]
        )
        assert current(local).environment("prod").status is EnvironmentStatus.SUSPENDED
        status, problem = api_call(
            local, RELEASE_MANAGER, f"/releases/{waiting.id}/environments/prod/reject", {}
        )
        assert status == 400 and problem["errors"][0]["field"] == "body.reason"

        status, shown = api_call(local, RELEASE_MANAGER, approve)
        assert status == 200, shown
        release = finished(local)
        status, problem = api_call(local, RELEASE_MANAGER, approve)
        assert status == 404 and "no open approval for prod" in problem["detail"]

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert f"Promotion-Approved-By: {RELEASE_MANAGER}" in (release.environment("prod").commit_message or "")
    assert f"Approved by {RELEASE_MANAGER}." in slack.message_for("prod").text


def test_promotions_reject_fails_prod_through_the_api_naming_the_caller(world):
    config_dir, _, push = world
    configure(config_dir, min_approvals=1, also=(RELEASE_MANAGER,))
    slack = slack_workspace()
    with slack, LocalPromotions(config_dir, slack=slack) as local:
        local.submit_github_push(push("35.0.0"))
        local.process_events()
        waiting = waiting_for_people(local, slack)
        invoke = functools.partial(local.stack.invoke, "ApiFunction")
        with ApiServer(invoke, "local-token", actor=RELEASE_MANAGER) as server:
            api = ["--api", server.base_url, "--token", "local-token", "--json"]
            result = CliRunner().invoke(app, ["reject", waiting.id, "prod", "--reason", "freeze week", *api])
            again = CliRunner().invoke(app, ["approve", waiting.id, "prod", *api])
        release = finished(local)

    assert result.exit_code == 0, result.output
    assert again.exit_code == 1 and "no open approval for prod" in again.output
    assert release.status is ReleaseStatus.FAILED
    assert f"rejected by {RELEASE_MANAGER}: freeze week" in (release.environment("prod").reason or "")
    assert f"Rejected by {RELEASE_MANAGER}: freeze week" in slack.message_for("prod").text


def test_terminating_a_release_that_waits_for_people_ends_it_and_says_so_on_the_message(world):
    config_dir, url, push = world
    configure(config_dir, min_approvals=2)
    slack = slack_workspace()
    with slack, LocalPromotions(config_dir, slack=slack) as local:
        local.submit_github_push(push("36.0.0"))
        local.process_events()
        waiting = waiting_for_people(local, slack)
        tip = prod_tip(url)
        message = slack.message_for("prod")
        assert slack.approve(message, ALICE)[0] == 200
        status, _ = api_call(
            local, RELEASE_MANAGER, f"/releases/{waiting.id}/terminate", {"reason": "wrong build"}
        )
        assert status == 202
        release = finished(local)

    assert release.status is ReleaseStatus.TERMINATED
    assert release.environment("prod").status is EnvironmentStatus.TERMINATED
    assert prod_tip(url) == tip
    assert "The release was terminated:" in message.text and "wrong build" in message.text
    assert message.button("promotions-approve") is None


def test_an_approval_no_permission_allows_is_refused_in_slack_and_through_the_api_and_recorded(world):
    config_dir, url, push = world
    configure(config_dir, min_approvals=1, also=(ERIN, "arn:aws:iam::123456789012:user/contractor"))
    slack = slack_workspace()
    with slack, LocalPromotions(config_dir, slack=slack) as local:
        local.submit_github_push(push("37.0.0"))
        local.process_events()
        waiting = waiting_for_people(local, slack)
        tip = prod_tip(url)
        message = slack.message_for("prod")

        assert slack.approve(message, ERIN)[0] == 200
        assert "erin (U0ERIN001) may not approve: no PromotionPermissions rule lets slackUser U0ERIN001" in (
            message.text
        )
        status, problem = api_call(
            local,
            "arn:aws:iam::123456789012:user/contractor",
            f"/releases/{waiting.id}/environments/prod/approve",
        )
        assert status == 403
        assert (
            "may not approve: no PromotionPermissions rule lets tokenHolder arn:aws:iam::123456789012:user/contractor "
            "approve guestbook in prod (prod)"
        ) in problem["detail"]

        still = current(local)
        assert still.status is ReleaseStatus.SUSPENDED
        assert still.environment("prod").status is EnvironmentStatus.SUSPENDED
        assert prod_tip(url) == tip and "Approvals: 0 of 1" in message.text
        assert [(entry.actor, entry.action, entry.outcome) for entry in still.audit] == [
            ("erin (U0ERIN001)", "approve", "refused"),
            ("arn:aws:iam::123456789012:user/contractor", "approve", "refused"),
        ]

        assert slack.approve(message, ALICE)[0] == 200
        release = finished(local)

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert [entry.outcome for entry in release.audit] == ["refused", "refused", "allowed"]
