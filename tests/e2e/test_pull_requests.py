"""The `pr` action through the real ASL on the local stack: prod waits on its pull request until a reviewer
merges it (the merge commit is prod's commit) or closes it (prod and the release fail)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promotions.git import Author, GitRemote
from promotions.release.model import PullRequestRecord, Release
from promotions.release.promotion import promotion_branch
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.fakes import FakeGitHub
from promotions_local.git_server import GitHttpBackendServer, create_bare_repository
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow

DEMO_GITOPS = Path(__file__).resolve().parents[2] / "examples" / "demo" / "gitops"
REPOSITORY = "acme/gitops"
TOKEN = "ghp-e2e-token"
CREDENTIALS_SECRET = "promotions-git-credentials"
REVIEWER = Author("Rita Reviewer", "rita@example.invalid")
PROD_FILES = [f"apps/{app}/prod/{name}" for app in ("api", "web") for name in ("Chart.yaml", "values.yaml")]


@dataclass
class PullRequestWorld:
    url: str
    github: FakeGitHub
    config_dir: Path
    credentials: dict[str, dict[str, str]]
    push: Callable[[str], dict]


@pytest.fixture
def world(gitops_world, push_version, upstream_events) -> Iterator[PullRequestWorld]:
    """The demo on git http-backend at acme/gitops, prod promoted by pull request on a fake GitHub that the
    GitRepository override points the local server's URL prefix at."""
    files = {
        path.relative_to(DEMO_GITOPS).as_posix(): path.read_bytes()
        for path in DEMO_GITOPS.rglob("*")
        if path.is_file()
    }
    (gitops_world.repos / "acme").mkdir()
    create_bare_repository(gitops_world.repos / f"{REPOSITORY}.git", files, message="initial")
    shape = json.loads((upstream_events / "github-pull-request-closed-merged.json").read_text())["pull_request"]
    with (
        GitHttpBackendServer(gitops_world.repos) as server,
        FakeGitHub(token=TOKEN, pull_request_shape=shape, repositories=[REPOSITORY]) as github,
    ):
        url = server.url_for(f"{REPOSITORY}.git")
        config_dir = gitops_world.write_config(url)
        flow = config_dir / "promotion-flow.yaml"
        # Room to merge: the engine polls the pull request until this (fast-forwarded) limit.
        flow.write_text(flow.read_text() + "  promotionTimeoutLimit: 10080\n")
        documents = [
            {
                "apiVersion": "promotions.dev/v1alpha1",
                "kind": "GitRepository",
                "metadata": {"name": "local-git-server"},
                "spec": {"url": f"{server.base_url}/", "provider": "github", "apiUrl": github.api_url},
            },
            {
                "apiVersion": "codefresh.io/v1beta1",
                "kind": "PromotionPolicy",
                "metadata": {"name": "prod-by-pull-request"},
                "spec": {
                    "priority": 1,
                    "selector": {"targetEnvironment": {"names": ["prod"]}},
                    "policy": {"action": "pr"},
                },
            },
        ]
        (config_dir / "pull-requests.yaml").write_text("---\n".join(json.dumps(d) + "\n" for d in documents))
        yield PullRequestWorld(
            url=url,
            github=github,
            config_dir=config_dir,
            credentials={f"{server.base_url}/": {"token": TOKEN}},
            push=lambda version: push_version(url, version),
        )


def parked_on_pull_request(local: LocalPromotions, timeout: float = 120) -> Release:
    """The release once prod's promotion has opened its pull request and waits for it."""
    deadline = time.monotonic() + timeout
    while True:
        releases = local.releases()
        if releases:
            [release] = releases
            if release.environment("prod").pull_requests or release.status.is_final:
                return release
        if time.monotonic() > deadline:
            raise TimeoutError(f"prod opened no pull request within {timeout:.0f}s")
        time.sleep(0.1)


def squash_merge(url: str, pull: PullRequestRecord) -> str:
    """What the reviewer's merge lands on the target branch: the pull request branch's prod files, as one
    commit."""
    proposed = GitRemote(url).snapshot(pull.branch, paths=PROD_FILES)
    outcome = GitRemote(url).commit(
        pull.target_branch,
        lambda tip: {path: proposed.read(path) for path in PROD_FILES},
        f"Promote prod (#{pull.number})",
        REVIEWER,
    )
    assert outcome.commit_sha is not None, "the pull request should change prod"
    return outcome.commit_sha


def local_promotions(world: PullRequestWorld) -> LocalPromotions:
    return LocalPromotions(world.config_dir, parameters={"GitCredentialsSecretArn": CREDENTIALS_SECRET})


def start(local: LocalPromotions, world: PullRequestWorld, version: str) -> Release:
    local.stack.client("secretsmanager").create_secret(
        Name=CREDENTIALS_SECRET, SecretString=json.dumps(world.credentials)
    )
    local.submit_github_push(world.push(version))
    local.process_events()
    return parked_on_pull_request(local)


def test_prod_waits_for_its_pull_request_and_is_promoted_as_the_merge_commit(world: PullRequestWorld):
    with local_promotions(world) as local:
        parked = start(local, world, "20.0.0")
        prod = parked.environment("prod")
        [pull] = prod.pull_requests
        main_before = GitRemote(world.url).snapshot("main")
        proposed = GitRemote(world.url).snapshot(promotion_branch(parked.id, "prod"))

        merge_sha = squash_merge(world.url, pull)
        world.github.merge(REPOSITORY, pull.number, merge_commit_sha=merge_sha)
        [release] = local.wait_until_settled(timeout=180)

    assert parked.status is ReleaseStatus.RUNNING
    assert prod.status is EnvironmentStatus.RUNNING and prod.commit is None
    assert pull.branch == promotion_branch(parked.id, "prod") and pull.target_branch == "main"
    assert all(b'"20.0.0"' not in main_before.read(path) for path in PROD_FILES)
    assert all(b'"20.0.0"' in proposed.read(path) for path in PROD_FILES)
    assert [request.body["title"] for request in world.github.requests if request.method == "POST"] == [
        "Promote guestbook 20.0.0 to prod"
    ]
    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    assert release.environment("prod").status is EnvironmentStatus.SUCCESSFUL
    assert release.environment("prod").commit == merge_sha
    assert GitRemote(world.url).snapshot("main").commit_sha == merge_sha
    # staging and qa took the commit action as before
    staging = release.environment("staging")
    assert staging.commit is not None and not staging.pull_requests


def test_a_pull_request_closed_without_merging_fails_prod_and_the_release(world: PullRequestWorld):
    with local_promotions(world) as local:
        parked = start(local, world, "21.0.0")
        [pull] = parked.environment("prod").pull_requests

        world.github.close(REPOSITORY, pull.number)
        [release] = local.wait_until_settled(timeout=180)

    prod = release.environment("prod")
    assert release.status is ReleaseStatus.FAILED
    assert prod.status is EnvironmentStatus.FAILED and prod.commit is None
    assert f"pull request #{pull.number} was closed without merging" in prod.reason
    assert "prod" in release.reason
    main = GitRemote(world.url).snapshot("main")
    assert all(b'"21.0.0"' not in main.read(path) for path in PROD_FILES)
