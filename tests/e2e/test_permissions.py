"""Who may do what, through the real ASL on the local stack: a caller without the verb in prod is refused there
(403, nothing started) and goes through in qa; every refusal is on the product's decision trail."""

from __future__ import annotations

import json

import pytest

from promotions.git import GitRemote
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.api_server import PROTECTED_ROUTE, http_api_event, http_response
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions
from tests.e2e.conftest import document, write_documents

pytestmark = pytest.mark.slow

QA_BOT = "qa-bot"


def api(local: LocalPromotions, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
    """The API function as the HTTP API hands it a request its authorizer let in as the QA bot."""
    event = http_api_event(
        method,
        f"/api/v1{path}",
        {"content-type": "application/json"},
        json.dumps(payload).encode() if payload is not None else b"",
        route_key=PROTECTED_ROUTE,
        authorizer={"lambda": {"actor": QA_BOT}},
    )
    status, _, answer = http_response(local.stack.invoke("ApiFunction", event))
    return status, json.loads(answer)


def version_in(url: str, environment: str) -> str:
    chart = GitRemote(url).snapshot("main").read(f"apps/api/{environment}/Chart.yaml").decode()
    return chart.split('appVersion: "')[1].split('"')[0]


def test_a_caller_without_trigger_or_promote_on_prod_is_refused_there_and_promotes_qa(
    gitops_world, push_version
):
    with GitHttpBackendServer(gitops_world.repos) as git_server:
        url = git_server.url_for("gitops.git")
        config_dir = gitops_world.write_config(url)
        rule = {
            "subjects": [{"tokenHolder": QA_BOT}],
            "verbs": ["trigger", "promote"],
            "environments": {"kinds": ["non-prod"]},
        }
        write_documents(
            config_dir,
            "qa-bot.yaml",
            [document("promotions.dev/v1alpha1", "PromotionPermissions", "qa-bot", {"rules": [rule]})],
        )
        with LocalPromotions(config_dir) as local:
            push_version(url, "40.0.0", message="Release 40.0.0 [skip promotion]")
            prod_before = version_in(url, "prod")

            to_prod = api(local, "POST", "/promotions", {"product": "guestbook", "environment": "prod"})
            whole_flow = api(local, "POST", "/releases", {"product": "guestbook"})
            assert local.releases() == [], "a refusal starts nothing"

            to_qa = api(
                local,
                "POST",
                "/promotions",
                {"product": "guestbook", "environment": "qa", "fromEnvironment": "dev"},
            )
            [promoted] = local.wait_until_settled(timeout=180)
            decisions = api(local, "GET", "/products/guestbook/decisions")
            versions = {env: version_in(url, env) for env in ("qa", "prod")}

    assert to_prod[0] == 403 and to_prod[1]["status"] == 403
    assert to_prod[1]["detail"].startswith(
        "no PromotionPermissions rule lets tokenHolder qa-bot promote guestbook in prod (prod)"
    )
    # The flow promotes qa, staging and prod: prod is the first the caller may not trigger.
    assert whole_flow[0] == 403 and "trigger guestbook in prod (prod)" in whole_flow[1]["detail"]
    assert to_qa[0] == 201, to_qa[1]
    assert promoted.status is ReleaseStatus.SUCCEEDED, promoted.reason
    assert promoted.environment("qa").status is EnvironmentStatus.SUCCESSFUL
    assert versions == {"qa": "40.0.0", "prod": prod_before}
    assert [(entry.actor, entry.action, entry.outcome) for entry in promoted.audit] == [
        (QA_BOT, "promote", "allowed")
    ]
    assert decisions[0] == 200
    assert [(d["actor"], d["action"], d["outcome"]) for d in decisions[1]["decisions"]] == [
        (QA_BOT, "trigger", "refused"),
        (QA_BOT, "promote", "refused"),
    ]
