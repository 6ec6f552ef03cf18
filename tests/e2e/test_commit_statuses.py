"""A release reported on its commits through the local stack: each environment's commit status on the trigger
commit and on the environment's own commit, on a fake GitHub that a GitRepository points the local Git server's
URL prefix at."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.fakes import FakeGitHub
from promotions_local.git_server import GitHttpBackendServer, create_bare_repository
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow

DEMO_GITOPS = Path(__file__).resolve().parents[2] / "examples" / "demo" / "gitops"
REPOSITORY = "acme/gitops"
TOKEN = "ghp-statuses-token"
CREDENTIALS_SECRET = "promotions-git-credentials"
RELEASE_LINK = "https://promotions.example/releases/"
PROMOTED = ("qa", "staging", "prod")


def combined_status(github: FakeGitHub, sha: str) -> dict[str, dict]:
    """The latest status of each name on `sha`, as GitHub's combined status answers it."""
    request = urllib.request.Request(
        f"{github.api_url}/repos/{REPOSITORY}/commits/{sha}/status?per_page=100",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request) as answer:
        return {status["context"]: status for status in json.load(answer)["statuses"]}


def test_each_environment_is_reported_on_the_trigger_commit_and_on_its_own_commit(
    gitops_world, push_version, upstream_events
):
    files = {
        path.relative_to(DEMO_GITOPS).as_posix(): path.read_bytes()
        for path in DEMO_GITOPS.rglob("*")
        if path.is_file()
    }
    (gitops_world.repos / "acme").mkdir()
    create_bare_repository(gitops_world.repos / f"{REPOSITORY}.git", files, message="initial")
    shape = json.loads((upstream_events / "github-pull-request-closed-merged.json").read_text())[
        "pull_request"
    ]
    with (
        GitHttpBackendServer(gitops_world.repos) as server,
        FakeGitHub(token=TOKEN, pull_request_shape=shape, repositories=[REPOSITORY]) as github,
    ):
        url = server.url_for(f"{REPOSITORY}.git")
        config_dir = gitops_world.write_config(url)
        repository = {
            "apiVersion": "promotions.dev/v1alpha1",
            "kind": "GitRepository",
            "metadata": {"name": "local-git-server"},
            "spec": {"url": f"{server.base_url}/", "provider": "github", "apiUrl": github.api_url},
        }
        (config_dir / "git-repositories.yaml").write_text(json.dumps(repository) + "\n")
        parameters = {"GitCredentialsSecretArn": CREDENTIALS_SECRET, "ReleaseLinkPrefix": RELEASE_LINK}
        with LocalPromotions(config_dir, parameters=parameters) as local:
            local.stack.client("secretsmanager").create_secret(
                Name=CREDENTIALS_SECRET, SecretString=json.dumps({f"{server.base_url}/": {"token": TOKEN}})
            )
            push = push_version(url, "4.0.0")
            local.submit_github_push(push)
            local.process_events()
            [release] = local.wait_until_settled(timeout=180)
            # The status changes the release made, delivered to the notifications function.
            local.process_events()
        on_trigger_commit = combined_status(github, push["after"])
        on_own_commits = {
            name: combined_status(github, release.environment(name).commit) for name in PROMOTED
        }

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert all(release.environment(name).status is EnvironmentStatus.SUCCESSFUL for name in PROMOTED)
    assert {name: status["state"] for name, status in on_trigger_commit.items()} == {
        f"promotions/{name}": "success" for name in PROMOTED
    }
    for name in PROMOTED:
        [(context, status)] = on_own_commits[name].items()
        assert (context, status["state"]) == (f"promotions/{name}", "success")
        assert status["target_url"] == f"{RELEASE_LINK}{release.id}"
        assert status["description"] == "guestbook 4.0.0: Successful"
