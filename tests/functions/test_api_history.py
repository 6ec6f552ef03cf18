"""The API's read routes for the dashboard's grid and history: drift per environment, release notes, and the
release list's filters, on the API function's world (moto, the demo's repositories on disk)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from promotions import runtime
from promotions.git import Author, GitRemote
from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.status import EnvironmentStatus
from promotions_local.api_server import ApiServer
from promotions_local.cli import app as cli
from tests.functions import api_world
from tests.functions.api_world import Context, body, demo_version

# The world's fixture under the name the tests use; here it replaces tests/conftest.py's `api`.
api = api_world.api

DANA = Author(name="Dana Developer", email="dana@example.invalid")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def commit_to_dev(gitops, message: str, version: str | None = None) -> str:
    """A commit to dev's api chart: its version when given, else a comment, so that every commit changes a file."""
    chart = "apps/api/dev/Chart.yaml"

    def edit(tip):
        text = tip.read(chart)
        if version is None:
            return {chart: text + f"# {message.splitlines()[0]}\n".encode()}
        return {
            chart: text.replace(
                f'appVersion: "{demo_version("dev")}"'.encode(), f'appVersion: "{version}"'.encode()
            )
        }

    return GitRemote(str(gitops)).commit("main", edit, message, DANA).commit_sha


def test_drift_shows_what_the_next_promotion_from_each_first_dependency_would_change(api):
    in_sync = body(api.call("GET", "/api/v1/products/guestbook/drift"))
    commit_to_dev(api.gitops, "dev runs 9.9.9", version="9.9.9")

    drift = body(api.call("GET", "/api/v1/products/guestbook/drift"))

    assert [(env["environment"], env["promotedFrom"], env["changes"]) for env in in_sync["environments"]] == [
        ("qa", "dev", []),
        ("staging", "dev", []),
        ("prod", "qa", []),
    ]
    by_environment = {env["environment"]: env for env in drift["environments"]}
    assert by_environment["qa"]["changes"] == [
        {
            "repoUrl": str(api.gitops),
            "branch": "main",
            "file": "apps/api/qa/Chart.yaml",
            "property": "$['appVersion']",
            "current": demo_version("qa"),
            "next": "9.9.9",
        }
    ]
    assert by_environment["staging"]["changes"][0]["file"] == "apps/api/staging/Chart.yaml"
    # prod is promoted from qa, which has not moved.
    assert by_environment["prod"]["changes"] == []


def test_drift_of_an_unknown_product_is_a_404_problem(api):
    response = api.call("GET", "/api/v1/products/nope/drift")

    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert "nope" in body(response)["detail"]


def test_release_notes_list_the_commits_since_the_previous_release_with_their_issue_keys(api):
    first = stored_release(api, GitRemote(str(api.gitops)).snapshot("main").commit_sha, T0)
    fixed = commit_to_dev(api.gitops, "Fix the guestbook form (GB-12)\n\nAlso closes #34 and GB-12 again.")
    bumped = commit_to_dev(api.gitops, "Bump to 2.0.0, see OPS-7", version="2.0.0")
    second = stored_release(api, bumped, T0 + timedelta(minutes=5), version="2.0.0")
    commit_to_dev(api.gitops, "After the release: not in its notes")

    notes = body(api.call("GET", f"/api/v1/releases/{second.id}/notes"))
    earliest = body(api.call("GET", f"/api/v1/releases/{first.id}/notes"))

    assert notes["release"] == second.id and notes["previousRelease"] == first.id
    assert [(c["commit"], c["subject"], c["issues"]) for c in notes["commits"]] == [
        (bumped, "Bump to 2.0.0, see OPS-7", ["OPS-7"]),
        (fixed, "Fix the guestbook form (GB-12)", ["GB-12", "#34"]),
    ]
    assert {c["author"] for c in notes["commits"]} == {"Dana Developer"} and notes["truncated"] is False
    assert datetime.fromisoformat(notes["commits"][0]["at"]).tzinfo is not None
    # The flow's first release lists the history its source reaches: the repository's one commit.
    assert earliest["previousRelease"] is None and earliest["truncated"] is False
    assert [c["commit"] for c in earliest["commits"]] == [first.source.commit]


def test_release_notes_of_an_unknown_release_are_a_404_problem(api):
    response = api.call("GET", "/api/v1/releases/no-such-release/notes")

    assert response["statusCode"] == 404 and "no-such-release" in body(response)["detail"]


def stored_release(
    api, commit: str, created_at: datetime, *, version: str = "1.0.0", flow: str = "guestbook-release"
):
    """A release of the demo's product stored as a push would store it, its source a commit of the GitOps
    repository."""
    source = SourceRevision(repo_url=str(api.gitops), branch="main", commit=commit)
    release = Release(
        id=release_id_for("guestbook", flow, source, request=created_at.isoformat()),
        product="guestbook",
        flow=flow,
        version=version,
        trigger_environment="dev",
        source=source,
        config_revision="r",
        created_at=created_at,
        environments=[EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit=commit)],
    )
    assert runtime.services().store.create(release)
    return release


def all_pages(api, **filters: str) -> list[str]:
    seen, token = [], None
    while True:
        query = {"limit": "2", **filters, **({"next": token} if token else {})}
        response = api.call("GET", "/api/v1/releases", query=query)
        assert response["statusCode"] == 200, response["body"]
        page = body(response)
        seen += [release["id"] for release in page["releases"]]
        token = page["next"]
        if token is None:
            return seen


def test_releases_are_filtered_by_flow_time_and_version_or_commit_prefix_across_pages(api):
    made = [
        stored_release(api, f"{n:x}" * 40, T0 + timedelta(minutes=n), version=f"{n % 2 + 1}.{n}.0", flow=flow)
        for n, flow in enumerate(["guestbook-release", "hotfix"] * 4)
    ]
    newest_first = list(reversed(made))

    def ids(releases) -> list[str]:
        return [release.id for release in releases]

    assert all_pages(api) == ids(newest_first)
    assert all_pages(api, flow="hotfix") == ids(r for r in newest_first if r.flow == "hotfix")
    assert all_pages(api, q="2.") == ids(r for r in newest_first if r.version.startswith("2."))
    assert all_pages(api, q="AAA", product="guestbook") == []
    assert all_pages(api, q="555", product="guestbook") == [made[5].id]
    assert all_pages(api, since=made[6].created_at.isoformat()) == ids(newest_first[:2])
    assert all_pages(api, until="2026-01-01T00:02:00") == ids(made[1::-1])
    assert all_pages(
        api, since=made[2].created_at.isoformat(), until=made[5].created_at.isoformat(), flow="hotfix"
    ) == [made[3].id]
    assert all_pages(api, since=made[5].created_at.isoformat(), until=made[2].created_at.isoformat()) == []


def test_a_page_token_of_another_time_range_and_a_bad_time_are_refused(api):
    for n in range(3):
        stored_release(api, "c" * 40, T0 + timedelta(minutes=n))
    token = body(api.call("GET", "/api/v1/releases", query={"limit": "1"}))["next"]

    other_range = api.call("GET", "/api/v1/releases", query={"since": "2020-01-01T00:00:00Z", "next": token})
    bad_time = api.call("GET", "/api/v1/releases", query={"since": "yesterday"})

    assert other_range["statusCode"] == 400 and "since and until" in body(other_range)["detail"]
    assert bad_time["statusCode"] == 400 and body(bad_time)["errors"][0]["field"] == "query.since"


def test_the_cli_prints_release_notes_and_passes_the_list_filters(api):
    first = stored_release(api, GitRemote(str(api.gitops)).snapshot("main").commit_sha, T0)
    change = commit_to_dev(api.gitops, "Fix the form, GB-12")
    second = stored_release(api, change, T0 + timedelta(minutes=5), version="2.0.0")

    with ApiServer(lambda event: api.module.handler(event, Context()), "token") as server:

        def run(*arguments: str):
            # Wide enough that rich wraps none of the table's cells.
            return CliRunner(env={"COLUMNS": "250"}).invoke(
                cli, [*arguments, "--api", server.base_url, "--token", "token"]
            )

        notes = run("release", "notes", second.id)
        listed = run("release", "list", "--json", "-q", "2.0", "--since", first.created_at.isoformat())

    assert notes.exit_code == 0, notes.output
    assert all(
        text in notes.output for text in (change[:12], "Fix the form, GB-12", "GB-12", f"since {first.id}")
    )
    assert [release["id"] for release in json.loads(listed.output)["releases"]] == [second.id]
