"""Releases asked for through the API, run by the real state machine on the local stack: the CLI speaks to the
local API server, which hands each request to the stack's API function."""

from __future__ import annotations

import functools
import json

import pytest
from typer.testing import CliRunner

from promotions.git import GitRemote
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.api_server import ApiServer
from promotions_local.cli import app
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow

TOKEN = "local-token"


def version_in(url: str, environment: str) -> str:
    chart = GitRemote(url).snapshot("main").read(f"apps/api/{environment}/Chart.yaml").decode()
    return chart.split('appVersion: "')[1].split('"')[0]


def test_a_triggered_flow_and_a_promotion_go_through_the_state_machine_and_its_guards(
    gitops_world, push_version
):
    with GitHttpBackendServer(gitops_world.repos) as git_server:
        url = git_server.url_for("gitops.git")
        with LocalPromotions(gitops_world.write_config(url)) as local:
            local.submit_github_push(push_version(url, "36.0.0"))
            local.process_events()
            [pushed] = local.wait_until_settled(timeout=180)
            # A commit the flow's trigger selectors leave alone: only a trigger through the API promotes it.
            unpromoted = push_version(url, "37.0.0", message="Release 37.0.0 [skip promotion]")

            invoke = functools.partial(local.stack.invoke, "ApiFunction")
            with ApiServer(invoke, TOKEN) as api_server:

                def cli(*arguments: str) -> dict:
                    result = CliRunner().invoke(
                        app, [*arguments, "--api", api_server.base_url, "--token", TOKEN, "--json"]
                    )
                    assert result.exit_code == 0, result.output
                    return json.loads(result.output)

                triggered = cli("trigger", "guestbook")
                by_id = {release.id: release for release in local.wait_until_settled(timeout=180)}
                backwards = cli("promote", "guestbook", "--to", "qa", "--from-release", pushed.id)
                by_id = {release.id: release for release in local.wait_until_settled(timeout=180)}
                push_version(url, "38.0.0", message="Release 38.0.0 [skip promotion]")
                writes_nothing = cli(
                    "promote", "guestbook", "--to", "qa", "--from-environment", "dev", "--action", "none"
                )
                by_id = {release.id: release for release in local.wait_until_settled(timeout=180)}
                shown = cli("release", "show", triggered["id"])
            versions = {env: version_in(url, env) for env in ("qa", "staging", "prod")}

    assert pushed.status is ReleaseStatus.SUCCEEDED, pushed.reason
    trigger_run = by_id[triggered["id"]]
    assert trigger_run.status is ReleaseStatus.SUCCEEDED, trigger_run.reason
    assert trigger_run.source.commit == unpromoted["after"] and trigger_run.version == "37.0.0"
    assert versions == {"qa": "37.0.0", "staging": "37.0.0", "prod": "37.0.0"}
    assert [(entry["action"], entry["actor"]) for entry in shown["audit"]] == [
        ("trigger", "local token holder")
    ]
    # A promotion is no way around the never-backwards guard (a rollback is): qa keeps 37.0.0.
    promotion = by_id[backwards["id"]]
    assert promotion.status is ReleaseStatus.SUCCEEDED, promotion.reason
    assert promotion.environment("qa").status is EnvironmentStatus.SUPERSEDED
    assert trigger_run.id in (promotion.environment("qa").reason or "")
    # The action chosen over the policy's: none writes nothing, and qa stays at 37.0.0 though dev has 38.0.0.
    chosen = by_id[writes_nothing["id"]]
    assert writes_nothing["action"] == "none" and chosen.version == "38.0.0"
    assert chosen.status is ReleaseStatus.SUCCEEDED and chosen.environment("qa").commit is None
