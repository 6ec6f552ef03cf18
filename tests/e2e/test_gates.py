"""Policies, checks and hooks through the real ASL on the local stack (issue: the gates of a promotion)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from promotions import clock
from promotions.git import GitRemote
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.fakes import ArgoAppState, FakeArgoCd
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow


def check(name: str, **spec) -> dict:
    return {
        "apiVersion": "promotions.dev/v1alpha1",
        "kind": "PromotionCheck",
        "metadata": {"name": name},
        "spec": spec,
    }


def policy(name: str, priority: int, selector: dict | None = None, **settings) -> dict:
    spec = {"priority": priority, "policy": settings}
    if selector:
        spec["selector"] = selector
    return {
        "apiVersion": "codefresh.io/v1beta1",
        "kind": "PromotionPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


def http_gate(api, path: str, label: str, **extra) -> dict:
    """An http check that reports to the recording API which environment it gated."""
    return {
        "http": {
            "url": f"{api.url}{path}",
            "method": "POST",
            "body": {"environment": "${ENVIRONMENT}", "check": label, **extra},
            "successWhen": {"jsonPath": "$.status", "equals": "ok"},
        }
    }


def write_documents(config_dir, filename: str, documents: list[dict]) -> None:
    (config_dir / filename).write_text("---\n".join(json.dumps(document) + "\n" for document in documents))


def calls(api, path: str) -> list[dict]:
    return [json.loads(request.body or b"{}") for request in api.requests if request.path == path]


def flow_with(hooks: dict) -> str:
    lines = ["  hooks:"] + [f"    {name}: {target}" for name, target in hooks.items()]
    return "\n".join(lines) + "\n"


def run(config_dir, push, timeout=180):
    with LocalPromotions(config_dir) as local:
        local.submit_github_push(push)
        local.process_events()
        [release] = local.wait_until_settled(timeout=timeout)
        history = local.execution_history(release.id)
    return release, history


@pytest.fixture
def world(gitops_world, push_version):
    """The demo product on git http-backend, with room for extra configuration documents."""
    server = GitHttpBackendServer(gitops_world.repos).__enter__()
    url = server.url_for("gitops.git")
    config_dir = gitops_world.write_config(url)
    yield config_dir, url, lambda version: push_version(url, version)
    server.__exit__(None, None, None)


def test_three_overlapping_policies_merge_and_context_flows_from_an_on_start_hook(world, api):
    config_dir, url, push = world
    api.route("POST", "/announce", {"PROMOTION_CONTEXT": {"ticket": "OPS-7"}})
    api.route("POST", "/gate", {"status": "ok"})
    (config_dir / "promotion-policies.yaml").unlink()
    write_documents(
        config_dir,
        "gates.yaml",
        [
            check("announce", http={"url": f"{api.url}/announce", "method": "POST"}),
            check("generic-gate", **http_gate(api, "/gate", "generic", ticket="${ticket}")),
            check("prod-gate", **http_gate(api, "/gate", "prod", ticket="${ticket}")),
            check("smoke", **http_gate(api, "/gate", "smoke", ticket="${ticket}")),
            # Lowest number is strongest: prod-only preAction (10) beats the global one (30) for prod.
            policy("global-commit-and-gate", 30, action="commit", preAction="generic-gate"),
            policy("global-smoke", 20, postAction="smoke"),
            policy("prod-gate", 10, {"targetEnvironment": {"types": ["PROD"]}}, preAction="prod-gate"),
        ],
    )
    flow_file = config_dir / "promotion-flow.yaml"
    flow_file.write_text(flow_file.read_text() + flow_with({"onStart": "announce"}))

    release, _ = run(config_dir, push("6.0.0"))

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert len(calls(api, "/announce")) == 1
    gated = sorted((c["environment"], c["check"]) for c in calls(api, "/gate"))
    assert gated == sorted(
        [
            ("qa", "generic"),
            ("qa", "smoke"),
            ("staging", "generic"),
            ("staging", "smoke"),
            ("prod", "prod"),
            ("prod", "smoke"),
        ]
    )
    # the onStart hook's PROMOTION_CONTEXT reached every later check
    assert {c["ticket"] for c in calls(api, "/gate")} == {"OPS-7"}
    assert release.promotion_context == {"ticket": "OPS-7"}


def test_a_failing_pre_action_leaves_the_target_untouched_and_fails_the_release(world, api):
    config_dir, url, push = world
    api.route("POST", "/deny", {"status": "frozen"})
    write_documents(
        config_dir,
        "gates.yaml",
        [
            check("change-freeze", **http_gate(api, "/deny", "freeze")),
            policy("prod-freeze", 1, {"targetEnvironment": {"names": ["prod"]}}, preAction="change-freeze"),
        ],
    )
    before = GitRemote(url).snapshot("main")

    release, _ = run(config_dir, push("7.0.0"))

    after = GitRemote(url).snapshot("main")
    prod = release.environment("prod")
    assert release.status is ReleaseStatus.FAILED
    assert prod.status is EnvironmentStatus.FAILED and prod.commit is None
    assert "change-freeze" in prod.reason and '"frozen"' in prod.reason
    assert "prod" in release.reason
    for app in ("api", "web"):
        assert after.read(f"apps/{app}/prod/values.yaml") == before.read(f"apps/{app}/prod/values.yaml")
        assert b'"7.0.0"' in after.read(f"apps/{app}/staging/values.yaml")


def test_a_post_action_failure_keeps_the_commit_fails_the_release_and_runs_on_fail_hooks(world, api):
    config_dir, url, push = world
    api.route("POST", "/smoke", {"status": "broken"})
    api.route("POST", "/report", {})
    write_documents(
        config_dir,
        "gates.yaml",
        [
            check("smoke", **http_gate(api, "/smoke", "smoke")),
            check(
                "report",
                http={
                    "url": f"{api.url}/report",
                    "method": "POST",
                    "body": {
                        "failed": "${FAILED_ENVIRONMENTS}",
                        "error": "${ERROR_MESSAGE}",
                        "release": "${RELEASE_ID}",
                    },
                },
            ),
            policy("staging-smoke", 1, {"targetEnvironment": {"names": ["staging"]}}, postAction="smoke"),
        ],
    )
    flow_file = config_dir / "promotion-flow.yaml"
    flow_file.write_text(flow_file.read_text() + flow_with({"onFail": "report"}))

    release, _ = run(config_dir, push("8.0.0"))

    staging = release.environment("staging")
    assert release.status is ReleaseStatus.FAILED
    assert staging.status is EnvironmentStatus.FAILED and staging.commit is not None
    assert "smoke" in staging.reason
    assert b'"8.0.0"' in GitRemote(url).snapshot("main").read(
        "apps/api/staging/values.yaml"
    )  # the commit stays
    assert release.environment("prod").status is EnvironmentStatus.TERMINATED
    [report] = calls(api, "/report")
    assert json.loads(report["failed"]) == ["staging"]
    assert "staging" in report["error"] and report["release"] == release.id


def test_a_window_blocks_then_lets_the_promotion_through(world):
    config_dir, url, push = world
    now = clock.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # from midnight until two hours from now, in whole seconds as the configuration gives it
    frozen_for = timedelta(seconds=int(((now - midnight) + timedelta(hours=2)).total_seconds()))
    write_documents(
        config_dir,
        "gates.yaml",
        [
            check(
                "no-deploys-now",
                window={
                    "timezone": "UTC",
                    "deny": [
                        {
                            "rrule": "FREQ=DAILY;COUNT=1",
                            "dtstart": midnight.isoformat(),
                            "duration": f"{int(frozen_for.total_seconds())}s",
                        }
                    ],
                },
            ),
            policy("prod-window", 1, {"targetEnvironment": {"names": ["prod"]}}, preAction="no-deploys-now"),
        ],
    )

    release, history = run(config_dir, push("9.0.0"))

    prod = release.environment("prod")
    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert "PreGatesWait" in entered_states(history)
    # the engine's clock was fast-forwarded through the freeze: prod was written after it ended
    assert prod.committed_at >= midnight + frozen_for
    assert release.environment("qa").committed_at < midnight + frozen_for


def test_a_soak_time_holds_prod_until_staging_has_run_for_an_hour(world):
    config_dir, url, push = world
    write_documents(
        config_dir,
        "gates.yaml",
        [
            check("staging-soaked", soakTime={"environments": ["staging"], "duration": "1h"}),
            policy("prod-soak", 1, {"targetEnvironment": {"names": ["prod"]}}, preAction="staging-soaked"),
        ],
    )

    release, history = run(config_dir, push("10.0.0"))

    staging, prod = release.environment("staging"), release.environment("prod")
    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert "PreGatesWait" in entered_states(history)
    assert prod.committed_at - staging.finished_at >= timedelta(hours=1)


def entered_states(history: list[dict]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"] for event in history if "stateEnteredEventDetails" in event
    ]


ARGOCD_TOKEN = "argocd-token-for-tests"


@pytest.mark.parametrize("health", ["Healthy", "Degraded"])
def test_prod_is_successful_only_when_argo_cd_reports_it_synced_and_healthy(world, upstream_events, health):
    config_dir, url, push = world
    shape = json.loads((upstream_events / "argocd-application.json").read_text())
    remote = GitRemote(url)
    environments = config_dir / "environments.yaml"
    with FakeArgoCd(token=ARGOCD_TOKEN, application_shape=shape) as argocd:
        for app in ("api", "web"):
            # an auto-syncing Argo CD: whatever main holds is what runs, in the health the test chose
            argocd.follow(
                f"guestbook-{app}-prod",
                lambda: ArgoAppState(revisions=(remote.snapshot("main").commit_sha,), health_status=health),
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
            local.submit_github_push(push(f"11.0.{len(health)}"))
            local.process_events()
            [release] = local.wait_until_settled(timeout=180)
        reads = [r for r in argocd.requests if r.path.startswith("/api/v1/applications/")]

    prod = release.environment("prod")
    assert prod.commit is not None
    assert {r.path for r in reads} == {
        "/api/v1/applications/guestbook-api-prod",
        "/api/v1/applications/guestbook-web-prod",
    }
    if health == "Healthy":
        assert release.status is ReleaseStatus.SUCCEEDED, release.reason
        assert prod.status is EnvironmentStatus.SUCCESSFUL
    else:
        assert release.status is ReleaseStatus.FAILED
        assert prod.status is EnvironmentStatus.FAILED
        assert "argocd:prod" in prod.reason and "Degraded" in prod.reason and prod.commit[:7] in prod.reason


def test_a_failing_on_start_hook_fails_the_release_before_any_environment_and_runs_on_fail(world, api):
    config_dir, url, push = world
    api.route("POST", "/announce", {"error": "chat is down"}, status=409)
    api.route("POST", "/report", {})
    write_documents(
        config_dir,
        "gates.yaml",
        [
            check("announce", http={"url": f"{api.url}/announce", "method": "POST"}),
            check(
                "report",
                http={
                    "url": f"{api.url}/report",
                    "method": "POST",
                    "body": {"error": "${ERROR_MESSAGE}", "failed": "${FAILED_ENVIRONMENTS}"},
                },
            ),
        ],
    )
    flow_file = config_dir / "promotion-flow.yaml"
    flow_file.write_text(flow_file.read_text() + flow_with({"onStart": "announce", "onFail": "report"}))
    pushed = push("15.0.0")

    release, history = run(config_dir, pushed)

    assert release.status is ReleaseStatus.FAILED
    assert "announce" in release.reason and "409" in release.reason
    assert {run.status for run in release.promoted_environments} == {EnvironmentStatus.TERMINATED}
    assert "PromoteEnvironments" not in entered_states(history)
    [report] = calls(api, "/report")
    assert "announce" in report["error"] and json.loads(report["failed"]) == []
    assert GitRemote(url).snapshot("main").commit_sha == pushed["after"]  # nothing was written


@pytest.mark.parametrize("child_succeeds", [True, False], ids=["child-succeeds", "child-fails"])
def test_a_state_machine_check_runs_through_the_sync_integration(world, child_succeeds):
    config_dir, url, push = world
    child = (
        {
            "StartAt": "Smoke",
            "States": {
                "Smoke": {"Type": "Pass", "Result": {"PROMOTION_CONTEXT": {"smoke": "green"}}, "End": True}
            },
        }
        if child_succeeds
        else {
            "StartAt": "Smoke",
            "States": {"Smoke": {"Type": "Fail", "Error": "SmokeFailed", "Cause": "checkout is broken"}},
        }
    )
    with LocalPromotions(config_dir) as local:
        sfn = local.stack.client("stepfunctions")
        child_arn = sfn.create_state_machine(
            name="promotions-smoke",
            definition=json.dumps(child),
            roleArn="arn:aws:iam::123456789012:role/child",
        )["stateMachineArn"]
        write_documents(
            config_dir,
            "gates.yaml",
            [
                check("child-smoke", stateMachine={"stateMachineArn": child_arn}),
                policy("prod-smoke", 1, {"targetEnvironment": {"names": ["prod"]}}, postAction="child-smoke"),
            ],
        )
        local.reload_configuration()
        local.submit_github_push(push("16.0.0"))
        local.process_events()
        [release] = local.wait_until_settled(timeout=180)
        history = local.execution_history(release.id)
        children = sfn.list_executions(stateMachineArn=child_arn)["executions"]

    assert "PostGatesStateMachine" in entered_states(history)
    assert len(children) == 1
    prod = release.environment("prod")
    if child_succeeds:
        assert release.status is ReleaseStatus.SUCCEEDED, release.reason
        assert release.promotion_context == {"smoke": "green"}
    else:
        assert prod.status is EnvironmentStatus.FAILED and prod.commit is not None
        assert "child-smoke" in prod.reason


def test_no_gate_waits_past_the_flows_promotion_timeout_limit(world):
    """Codefresh's Flow Timeout: prod's window stays shut for three hours, the flow allows one."""
    config_dir, url, push = world
    now = clock.now()
    write_documents(
        config_dir,
        "gates.yaml",
        [
            check(
                "shut-for-three-hours",
                window={
                    "timezone": "UTC",
                    "deny": [{"rrule": "FREQ=DAILY;COUNT=1", "dtstart": now.isoformat(), "duration": "3h"}],
                },
            ),
            policy("prod-window", 1, {"targetEnvironment": {"names": ["prod"]}}, preAction="shut-for-three-hours"),
        ],
    )
    flow_file = config_dir / "promotion-flow.yaml"
    flow_file.write_text(flow_file.read_text() + "  promotionTimeoutLimit: 60\n")
    pushed = push("16.0.0")

    release, history = run(config_dir, pushed)

    prod = release.environment("prod")
    # the whole release is terminated, as a person would terminate it (tests/e2e/test_terminate_rollback.py)
    assert release.status is ReleaseStatus.TERMINATED
    assert prod.status is EnvironmentStatus.TERMINATED and prod.commit is None
    assert "promotionTimeoutLimit of 1h" in prod.reason and "shut-for-three-hours" in prod.reason
    assert {release.environment(name).status for name in ("qa", "staging")} == {EnvironmentStatus.SUCCESSFUL}
    # it gave up at the limit, not when the window opened
    assert release.created_at + timedelta(hours=1) <= prod.finished_at < release.created_at + timedelta(hours=2)
