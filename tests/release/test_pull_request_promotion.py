"""The `pr` action: the promotion pushes a branch and opens a pull request; the post-action phase waits for
the merge and takes the merge commit as the environment's commit (Promoter and Gates against DynamoDB on
moto, git http-backend and a fake GitHub). Also what a `commit` promotion reports of its pushes."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promotions import clock
from promotions.checks import CheckServices, SecretUnavailable
from promotions.config import Configuration, load_configuration_dir
from promotions.git import Author, GitRemote, RefNotFound
from promotions.git.credentials import GitCredentials
from promotions.gitproviders import GitProviderConfigError
from promotions.gitproviders.apis import PullRequestApis
from promotions.http import HttpClient
from promotions.release.gates import GateFailed, Gates, Stage
from promotions.release.model import (
    EnvironmentRun,
    PullRequestRecord,
    Release,
    SourceRevision,
    release_id_for,
)
from promotions.release.promotion import BranchPlan, Promoter, promotion_branch
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseStore
from promotions_local.fakes import FakeGitHub
from promotions_local.git_server import GitHttpBackendServer, create_bare_repository

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
PLACEHOLDER_URL = "https://git.example.invalid/demo/gitops.git"
VERSION_LINE = re.compile(r'^(\s*(?:appVersion|tag):\s*)"[^"]*"', re.MULTILINE)
PROD_FILES = [f"apps/{app}/prod/{name}" for app in ("api", "web") for name in ("Chart.yaml", "values.yaml")]
TOKEN = "ghp-promotions-test"
CREDENTIALS_SECRET = "git-credentials"
BOT = Author("Promotions", "promotions@example.invalid")

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git http-backend needs the git binary")


class Secrets:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets

    def secret_string(self, secret_id: str) -> str:
        if secret_id not in self.secrets:
            raise SecretUnavailable(f"secret {secret_id} cannot be read (ResourceNotFoundException)")
        return self.secrets[secret_id]


class NoLambda:
    def invoke(self, *, FunctionName: str, Payload: bytes):
        raise AssertionError("no lambda check in these tests")


@dataclass
class PinnedConfig:
    """What ConfigRepository answers for a release's pinned revision."""

    configuration: Configuration

    def at(self, revision: str) -> Configuration:
        return self.configuration


@dataclass
class World:
    url: str
    github: FakeGitHub
    store: ReleaseStore
    promoter: Promoter
    gates: Gates
    secrets: Secrets
    config_dir: Path

    def release(self, version: str) -> Release:
        """Bump dev to `version` in Git and store a release of that commit."""
        outcome = GitRemote(self.url).commit(
            "main",
            lambda tip: {
                path: VERSION_LINE.sub(rf'\g<1>"{version}"', tip.read(path).decode()).encode()
                for path in [p.replace("/prod/", "/dev/") for p in PROD_FILES]
            },
            f"Release {version} to dev",
            BOT,
        )
        assert outcome.commit_sha is not None
        return self.release_of(outcome.commit_sha, version)

    def release_of(self, commit: str, version: str) -> Release:
        source = SourceRevision(repo_url=self.url, branch="main", commit=commit)
        release = Release(
            id=release_id_for("guestbook", "guestbook-release", source),
            product="guestbook",
            flow="guestbook-release",
            version=version,
            trigger_environment="dev",
            source=source,
            config_revision="c" * 40,
            created_at=clock.now(),
            environments=[
                EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit=commit),
                EnvironmentRun(name="qa", depends_on=("dev",)),
                EnvironmentRun(name="staging", depends_on=("dev",)),
                EnvironmentRun(name="prod", depends_on=("qa", "staging")),
            ],
        )
        assert self.store.create(release)
        return release

    def merge(self, pull: PullRequestRecord) -> str:
        """Merge the pull request as a squash merge would: its branch's files, one commit on its target."""
        branch = GitRemote(self.url).snapshot(pull.branch)
        landed = GitRemote(self.url).commit(
            pull.target_branch,
            lambda tip: {path: branch.read(path) for path in PROD_FILES},
            f"Merge #{pull.number}",
            BOT,
        )
        return self.github.merge("acme/gitops", pull.number, merge_commit_sha=landed.commit_sha)


@pytest.fixture
def world(tmp_path, store, upstream_events, api) -> Iterator[World]:
    api.route("POST", "/smoke", {})
    repos = tmp_path / "repos"
    (repos / "acme").mkdir(parents=True)
    gitops = DEMO / "gitops"
    files = {p.relative_to(gitops).as_posix(): p.read_bytes() for p in gitops.rglob("*") if p.is_file()}
    create_bare_repository(repos / "acme" / "gitops.git", files)
    shape = json.loads((upstream_events / "github-pull-request-closed-merged.json").read_text())[
        "pull_request"
    ]
    with (
        GitHttpBackendServer(repos) as server,
        FakeGitHub(token=TOKEN, pull_request_shape=shape, repositories=["acme/gitops"]) as github,
    ):
        url = server.url_for("acme/gitops.git")
        config_dir = tmp_path / "config"
        shutil.copytree(DEMO / "config", config_dir)
        for path in config_dir.glob("*.yaml"):
            path.write_text(path.read_text().replace(PLACEHOLDER_URL, url))
        (config_dir / "pull-requests.yaml").write_text(
            "---\n".join(
                json.dumps(document) + "\n"
                for document in (
                    {
                        "apiVersion": "promotions.dev/v1alpha1",
                        "kind": "GitRepository",
                        "metadata": {"name": "local-github"},
                        "spec": {
                            "url": f"{server.base_url}/",
                            "provider": "github",
                            "apiUrl": github.api_url,
                        },
                    },
                    {
                        "apiVersion": "codefresh.io/v1beta1",
                        "kind": "PromotionPolicy",
                        "metadata": {"name": "prod-by-pull-request"},
                        "spec": {
                            "priority": 1,
                            "selector": {"targetEnvironment": {"names": ["prod"]}},
                            "policy": {"action": "pr", "postAction": "smoke"},
                        },
                    },
                    {
                        "apiVersion": "promotions.dev/v1alpha1",
                        "kind": "PromotionCheck",
                        "metadata": {"name": "smoke"},
                        "spec": {
                            "http": {
                                "url": f"{api.url}/smoke",
                                "method": "POST",
                                "body": {"sha": "${COMMIT_SHA}", "message": "${COMMIT_MESSAGE}"},
                            }
                        },
                    },
                )
            )
        )
        configs = PinnedConfig(load_configuration_dir(config_dir))
        secrets = Secrets({CREDENTIALS_SECRET: json.dumps({f"{server.base_url}/": {"token": TOKEN}})})
        credentials = GitCredentials(
            CREDENTIALS_SECRET, read_secret=lambda name: json.loads(secrets.secret_string(name))
        )
        promoter = Promoter(store, configs, GitRemote, BOT, PullRequestApis(credentials, HttpClient()))
        services = CheckServices(http=HttpClient(), secrets=secrets, lambda_client=NoLambda())
        gates = Gates(store, configs, services, BOT.name, git_credentials_secret=CREDENTIALS_SECRET)
        yield World(url, github, store, promoter, gates, secrets, config_dir)


def prod_files(url: str, revision: str) -> dict[str, bytes | None]:
    snapshot = GitRemote(url).snapshot(revision)
    return {path: snapshot.read(path) for path in PROD_FILES}


def test_the_promotion_pushes_its_branch_opens_a_pull_request_and_records_it_without_a_commit(
    world: World,
):
    release = world.release("2.0.0")
    main_before = prod_files(world.url, "main")

    result = world.promoter.promote(release.id, "prod")

    branch = promotion_branch(release.id, "prod")
    [pull] = result.pull_requests
    prod = world.store.get(release.id).environment("prod")
    [opened] = [request for request in world.github.requests if request.method == "POST"]
    assert result.commit is None and prod.commit is None
    assert prod.pull_requests == (pull,)
    assert (pull.provider, pull.repo_url) == ("GitHub", world.url)
    assert (pull.branch, pull.target_branch) == (branch, "main")
    assert pull.url == f"{world.github.url}/acme/gitops/pull/{pull.number}"
    assert prod.commit_message.startswith("Promote guestbook 2.0.0 to prod\n")
    assert f"Promotion-Release: {release.id}" in prod.commit_message
    assert opened.body["head"] == branch and opened.body["base"] == "main"
    assert opened.body["title"] == "Promote guestbook 2.0.0 to prod"
    assert release.id in opened.body["body"] and "guestbook-api-prod" in opened.body["body"]
    assert prod_files(world.url, "main") == main_before
    assert all(b'"2.0.0"' in content for content in prod_files(world.url, branch).values())
    assert sorted(result.changed_files) == sorted(PROD_FILES)


def test_a_retried_promotion_reuses_its_branch_and_its_pull_request(world: World):
    release = world.release("2.1.0")
    first = world.promoter.promote(release.id, "prod")
    tip = GitRemote(world.url).snapshot(promotion_branch(release.id, "prod")).commit_sha

    again = world.promoter.promote(release.id, "prod")

    assert again.pull_requests == first.pull_requests
    assert [request.method for request in world.github.requests].count("POST") == 1
    assert GitRemote(world.url).snapshot(promotion_branch(release.id, "prod")).commit_sha == tip


def test_the_merge_commit_becomes_prod_s_commit_for_the_post_actions(world: World, api):
    release = world.release("2.2.0")
    [pull] = world.promoter.promote(release.id, "prod").pull_requests

    waiting = world.gates.evaluate(release.id, "prod", Stage.POST)
    merge_sha = world.merge(pull)
    done = world.gates.evaluate(release.id, "prod", Stage.POST, progress=waiting.progress)

    prod = world.store.get(release.id).environment("prod")
    assert waiting.next == "wait" and waiting.wait_seconds == 60
    assert done.next == "done"
    assert prod.commit == merge_sha and prod.committed_at is not None
    assert prod.pull_requests == (pull,)
    [smoke] = [json.loads(request.body) for request in api.requests]
    assert smoke["sha"] == merge_sha
    assert smoke["message"].startswith("Promote guestbook 2.2.0 to prod")


def test_a_pull_request_closed_without_merging_fails_the_post_actions(world: World):
    release = world.release("2.3.0")
    [pull] = world.promoter.promote(release.id, "prod").pull_requests
    world.github.close("acme/gitops", pull.number)

    with pytest.raises(GateFailed) as failed:
        world.gates.evaluate(release.id, "prod", Stage.POST)

    assert f"pull request #{pull.number} was closed without merging" in str(failed.value)
    assert world.store.get(release.id).environment("prod").commit is None


def test_nothing_to_change_opens_no_pull_request_and_pushes_no_branch(world: World):
    first = world.release("2.4.0")
    [pull] = world.promoter.promote(first.id, "prod").pull_requests
    merge_sha = world.merge(pull)
    again = world.release_of(merge_sha, "2.4.0")  # a later push of the same version: prod holds it already

    result = world.promoter.promote(again.id, "prod")

    prod = world.store.get(again.id).environment("prod")
    assert result.commit is None and result.pull_requests == () and prod.pull_requests == ()
    assert [request.method for request in world.github.requests].count("POST") == 1
    with pytest.raises(RefNotFound):
        GitRemote(world.url).snapshot(promotion_branch(again.id, "prod"))
    assert world.gates.evaluate(again.id, "prod", Stage.POST).next == "done"


def test_without_an_api_token_nothing_is_pushed(world: World):
    world.secrets.secrets[CREDENTIALS_SECRET] = json.dumps({"https://elsewhere.example/": {"token": "x"}})
    release = world.release("2.5.0")

    with pytest.raises(GitProviderConfigError, match=f"no API token for {re.escape(world.url)}"):
        world.promoter.promote(release.id, "prod")

    with pytest.raises(RefNotFound):
        GitRemote(world.url).snapshot(promotion_branch(release.id, "prod"))
    assert world.github.requests == []


def test_an_environment_s_pull_requests_round_trip_through_the_store(store: ReleaseStore):
    pull = PullRequestRecord(
        provider="GitLab",
        repo_url="https://gitlab.example.com/platform/gitops.git",
        number=12,
        url="https://gitlab.example.com/platform/gitops/-/merge_requests/12",
        branch="promotions/r/prod",
        target_branch="main",
    )
    source = SourceRevision(repo_url="https://gitlab.example.com/acme/app", branch="main", commit="a" * 40)
    release = Release(
        id=release_id_for("guestbook", "flow", source),
        product="guestbook",
        flow="flow",
        version="3.0.0",
        trigger_environment="dev",
        source=source,
        config_revision="c" * 40,
        created_at=clock.now(),
        environments=[
            EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit="a" * 40),
            EnvironmentRun(name="prod", depends_on=("dev",), pull_requests=(pull,)),
        ],
    )
    store.create(release)

    stored = store.get(release.id)

    assert stored.environment("prod").pull_requests == (pull,)
    assert stored.environment("dev").pull_requests == ()


def test_a_commit_promotion_reports_the_pushes_another_writer_made_it_retry(world: World, monkeypatch):
    release = world.release("2.6.0")
    real_edits = BranchPlan.edits
    other_writer: list[str | None] = []

    def edits_after_another_writer_pushed(plan, files, sources, tip):
        if not other_writer:
            other_writer.append(
                GitRemote(world.url)
                .commit("main", lambda _: {"NOTES.md": b"frozen on Friday\n"}, "Another writer", BOT)
                .commit_sha
            )
        return real_edits(plan, files, sources, tip)

    monkeypatch.setattr(BranchPlan, "edits", edits_after_another_writer_pushed)

    raced = world.promoter.promote(release.id, "qa")
    alone = world.promoter.promote(release.id, "staging")

    assert (raced.push_retries, alone.push_retries) == (1, 0)
    qa_commit = GitRemote(world.url).snapshot(raced.commit)
    assert qa_commit.read("NOTES.md") == b"frozen on Friday\n", "built on the other writer's commit"
