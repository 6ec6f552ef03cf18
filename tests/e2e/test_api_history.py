"""The dashboard's read routes on the local stack, with the GitOps repository on a Git server: drift before and
after a promotion, the release notes of a second release, and the release list's filters across pages, through
the local API server (and the CLI where it has the verb)."""

from __future__ import annotations

import functools
import json

import pytest
import urllib3
from typer.testing import CliRunner

from promotions.release.status import ReleaseStatus
from promotions_local.api_server import ApiServer
from promotions_local.cli import app
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow

TOKEN = "local-token"


def test_drift_notes_and_filters_follow_pushes_and_releases(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as git_server:
        url = git_server.url_for("gitops.git")
        with LocalPromotions(gitops_world.write_config(url)) as local:
            local.submit_github_push(push_version(url, "36.0.0", message="Release 36.0.0"))
            local.process_events()
            [first] = local.wait_until_settled(timeout=180)
            invoke = functools.partial(local.stack.invoke, "ApiFunction")
            with ApiServer(invoke, TOKEN) as api_server:

                def get(path: str) -> dict:
                    response = urllib3.request(
                        "GET",
                        f"{api_server.base_url}/api/v1{path}",
                        headers={"Authorization": f"Bearer {TOKEN}"},
                    )
                    assert response.status == 200, response.data
                    return response.json()

                def cli(*arguments: str) -> dict:
                    result = CliRunner().invoke(
                        app, [*arguments, "--api", api_server.base_url, "--token", TOKEN, "--json"]
                    )
                    assert result.exit_code == 0, result.output
                    return json.loads(result.output)

                def listed(*filters: str) -> list[str]:
                    seen, token = [], None
                    while True:
                        page = cli(
                            "release", "list", "--limit", "1", *filters, *(["--next", token] if token else [])
                        )
                        seen += [release["id"] for release in page["releases"]]
                        token = page["next"]
                        if token is None:
                            return seen

                in_sync_after_first = get("/products/guestbook/drift")
                # Pushed to dev without a release (no push event reaches the stack): only drift sees them.
                fix = push_version(url, "37.0.0", message="Release 37.0.0, fixes GB-12")
                hotfix = push_version(url, "37.0.1", message="Hotfix #5 for GB-12\n\nAlso OPS-3.")
                drifted = get("/products/guestbook/drift")
                second = cli("trigger", "guestbook")
                by_id = {release.id: release for release in local.wait_until_settled(timeout=180)}
                in_sync_after_second = get("/products/guestbook/drift")
                notes = cli("release", "notes", second["id"])
                by_flow = listed("--flow", "guestbook-release")
                by_other_flow = listed("--flow", "no-such-flow")
                by_version = listed("-q", "37.0")
                by_commit = listed("-q", first.source.commit[:10])
                since_second = listed("--since", second["createdAt"])
                until_second = listed("--until", second["createdAt"])

    assert first.status is ReleaseStatus.SUCCEEDED, first.reason
    assert by_id[second["id"]].status is ReleaseStatus.SUCCEEDED, by_id[second["id"]].reason
    assert all(env["changes"] == [] for env in in_sync_after_first["environments"])
    drift = {env["environment"]: env for env in drifted["environments"]}
    assert drift["qa"]["promotedFrom"] == "dev" and drift["prod"]["promotedFrom"] == "qa"
    assert {
        (change["file"], change["property"], change["current"], change["next"])
        for change in drift["qa"]["changes"]
    } == {
        (f"apps/{app_name}/qa/{file}", path, "36.0.0", "37.0.1")
        for app_name in ("api", "web")
        for file, path in (("Chart.yaml", "$['appVersion']"), ("values.yaml", "$['image']['tag']"))
    }
    assert drift["prod"]["changes"] == [], "prod is promoted from qa, which has not moved"
    assert all(env["changes"] == [] for env in in_sync_after_second["environments"])

    assert notes["previousRelease"] == first.id and notes["truncated"] is False
    assert [(c["commit"], c["issues"]) for c in notes["commits"]] == [
        (hotfix["after"], ["#5", "GB-12", "OPS-3"]),
        (fix["after"], ["GB-12"]),
    ]

    assert by_flow == [second["id"], first.id] and by_other_flow == []
    assert by_version == [second["id"]] and by_commit == [first.id]
    assert since_second == [second["id"]] and until_second == [first.id]
