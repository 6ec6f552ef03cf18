"""An environment never moves backwards: a release whose source is older than the one the environment's last
promotion recorded writes nothing and ends Superseded; and a promotion whose push landed though its answer was
lost finds its commit on the branch (Promoter against DynamoDB on moto and git http-backend)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import promotions.release.promotion as promotion_module
from promotions import clock
from promotions.checks import CheckServices
from promotions.config import Configuration, load_configuration_dir
from promotions.git import Author, GitRemote, GitTransientError
from promotions.git.credentials import GitCredentials
from promotions.gitproviders.apis import PullRequestApis
from promotions.http import HttpClient
from promotions.release.gates import Gates, Stage
from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.promotion import Promoter
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseStore
from promotions_local.git_server import GitHttpBackendServer, create_bare_repository

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
PLACEHOLDER_URL = "https://git.example.invalid/demo/gitops.git"
TAG_LINE = re.compile(r'^(\s*tag:\s*)"[^"]*"', re.MULTILINE)
BOT = Author("Promotions", "promotions@example.invalid")

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git http-backend needs the git binary")


# prod's post-action: a smoke test against a port nothing listens on, so it can only fail.
SMOKE_POLICY = {
    "apiVersion": "codefresh.io/v1beta1",
    "kind": "PromotionPolicy",
    "metadata": {"name": "prod-smoke"},
    "spec": {
        "priority": 1,
        "selector": {"targetEnvironment": {"names": ["prod"]}},
        "policy": {"action": "commit", "postAction": "smoke"},
    },
}
SMOKE_CHECK = {
    "apiVersion": "promotions.dev/v1alpha1",
    "kind": "PromotionCheck",
    "metadata": {"name": "smoke"},
    "spec": {"http": {"url": "http://127.0.0.1:9/smoke", "method": "POST"}},
}


class NoSecrets:
    def secret_string(self, secret_id: str) -> str:
        raise AssertionError("no secret in these tests")


class NoLambda:
    def invoke(self, *, FunctionName: str, Payload: bytes):
        raise AssertionError("no lambda check in these tests")


@dataclass
class PinnedConfig:
    configuration: Configuration

    def at(self, revision: str) -> Configuration:
        return self.configuration


@dataclass
class World:
    url: str
    store: ReleaseStore
    promoter: Promoter
    gates: Gates

    def push_to_dev(self, app: str, tag: str) -> Release:
        """Set `app`'s image tag in dev, as a developer's push would, and store the release of that commit."""
        path = f"apps/{app}/dev/values.yaml"
        outcome = GitRemote(self.url).commit(
            "main",
            lambda tip: {path: TAG_LINE.sub(rf'\g<1>"{tag}"', tip.read(path).decode()).encode()},
            f"{app} {tag} to dev",
            BOT,
        )
        assert outcome.commit_sha is not None
        source = SourceRevision(repo_url=self.url, branch="main", commit=outcome.commit_sha)
        release = Release(
            id=release_id_for("guestbook", "guestbook-release", source),
            product="guestbook",
            flow="guestbook-release",
            version=tag,
            trigger_environment="dev",
            source=source,
            config_revision="c" * 40,
            created_at=clock.now(),
            environments=[
                EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit=outcome.commit_sha),
                EnvironmentRun(name="prod", depends_on=("dev",), status=EnvironmentStatus.RUNNING),
            ],
        )
        assert self.store.create(release)
        return release

    def tag_in(self, app: str, environment: str) -> str:
        content = GitRemote(self.url).snapshot("main").read(f"apps/{app}/{environment}/values.yaml").decode()
        match = TAG_LINE.search(content)
        assert match is not None
        return content[match.end(1) :].split('"')[1]

    def main_tip(self) -> str:
        return GitRemote(self.url).snapshot("main").commit_sha


@pytest.fixture
def world(tmp_path, store) -> Iterator[World]:
    repos = tmp_path / "repos"
    (repos / "acme").mkdir(parents=True)
    gitops = DEMO / "gitops"
    files = {p.relative_to(gitops).as_posix(): p.read_bytes() for p in gitops.rglob("*") if p.is_file()}
    create_bare_repository(repos / "acme" / "gitops.git", files)
    with GitHttpBackendServer(repos) as server:
        url = server.url_for("acme/gitops.git")
        config_dir = tmp_path / "config"
        shutil.copytree(DEMO / "config", config_dir)
        for path in config_dir.glob("*.yaml"):
            path.write_text(path.read_text().replace(PLACEHOLDER_URL, url))
        (config_dir / "smoke.yaml").write_text(
            "---\n".join(json.dumps(document) + "\n" for document in (SMOKE_POLICY, SMOKE_CHECK))
        )
        configs = PinnedConfig(load_configuration_dir(config_dir))
        pull_requests = PullRequestApis(GitCredentials("unused", read_secret=lambda name: {}), HttpClient())
        services = CheckServices(http=HttpClient(), secrets=NoSecrets(), lambda_client=NoLambda())
        yield World(
            url,
            store,
            Promoter(store, configs, GitRemote, BOT, pull_requests),
            Gates(store, configs, services, BOT.name),
        )


def test_an_older_release_promoting_after_a_newer_one_writes_nothing_and_is_superseded(world: World):
    older = world.push_to_dev("api", "1.5.0")
    newer = world.push_to_dev("web", "2.5.0")
    world.promoter.promote(newer.id, "prod")
    tip = world.main_tip()

    result = world.promoter.promote(older.id, "prod")

    prod = world.store.get(older.id).environment("prod")
    assert world.main_tip() == tip, "nothing written"
    assert (world.tag_in("api", "prod"), world.tag_in("web", "prod")) == ("1.5.0", "2.5.0")
    assert result.commit is None and result.superseded_by == newer.id
    assert prod.status is EnvironmentStatus.SUPERSEDED
    assert prod.reason is not None and f"superseded by {newer.id}" in prod.reason
    assert prod.commit is None


def test_a_newer_release_promoting_after_an_older_one_is_written(world: World):
    older = world.push_to_dev("api", "1.6.0")
    newer = world.push_to_dev("web", "2.6.0")
    world.promoter.promote(older.id, "prod")

    result = world.promoter.promote(newer.id, "prod")

    assert result.commit == world.main_tip() and result.superseded_by is None
    assert world.store.get(newer.id).environment("prod").status is EnvironmentStatus.RUNNING
    assert (world.tag_in("api", "prod"), world.tag_in("web", "prod")) == ("1.6.0", "2.6.0")


def test_a_push_that_lost_the_race_to_a_newer_release_checks_again_and_is_superseded(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    older = world.push_to_dev("api", "1.7.0")
    newer = world.push_to_dev("web", "2.7.0")
    real_edits = promotion_module.BranchPlan.edits
    raced: list[str | None] = []

    def edits_while_the_newer_release_lands(self, files, sources, tip):
        """The older release's first attempt, past its check, builds its commit while the newer one lands."""
        if not raced:
            raced.append(None)
            raced[0] = world.promoter.promote(newer.id, "prod").commit
        return real_edits(self, files, sources, tip)

    monkeypatch.setattr(promotion_module.BranchPlan, "edits", edits_while_the_newer_release_lands)

    result = world.promoter.promote(older.id, "prod")

    assert result.superseded_by == newer.id and result.commit is None
    assert raced[0] is not None and world.main_tip() == raced[0]
    assert (world.tag_in("api", "prod"), world.tag_in("web", "prod")) == ("1.7.0", "2.7.0")


def test_an_explicit_rollback_may_move_an_environment_back(world: World):
    older = world.push_to_dev("api", "1.8.0")
    newer = world.push_to_dev("api", "1.9.0")
    world.promoter.promote(newer.id, "prod")

    result = world.promoter.promote(older.id, "prod", forward_only=False)

    assert result.commit == world.main_tip() and result.superseded_by is None
    assert world.tag_in("api", "prod") == "1.8.0"


def test_a_push_whose_answer_was_lost_is_found_on_the_branch_and_recorded(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    release = world.push_to_dev("api", "1.10.0")
    real_commit = GitRemote.commit
    landed: list[str] = []

    def lands_then_loses_the_answer(self, *args, **kwargs):
        outcome = real_commit(self, *args, **kwargs)
        landed.append(outcome.commit_sha)
        raise GitTransientError(f"push to {self.url}: HTTP 500 from the server")

    monkeypatch.setattr(GitRemote, "commit", lands_then_loses_the_answer)
    with pytest.raises(GitTransientError):
        world.promoter.promote(release.id, "prod")
    monkeypatch.setattr(GitRemote, "commit", real_commit)
    world.push_to_dev("web", "2.10.0")  # another writer moves the branch before the retry

    retried = world.promoter.promote(release.id, "prod")

    assert retried.commit == landed[0] and retried.changed_files == ()
    prod = world.store.get(release.id).environment("prod")
    assert prod.commit == landed[0]
    assert prod.commit_message is not None and f"Promotion-Release: {release.id}" in prod.commit_message


def test_a_superseded_environment_has_nothing_to_verify_after_the_promotion(world: World):
    older = world.push_to_dev("api", "1.11.0")
    newer = world.push_to_dev("web", "2.11.0")
    world.promoter.promote(newer.id, "prod")
    world.promoter.promote(older.id, "prod")

    assert world.gates.evaluate(older.id, "prod", Stage.POST).next == "done"
    with pytest.raises(Exception, match="smoke"):
        world.gates.evaluate(newer.id, "prod", Stage.POST)
