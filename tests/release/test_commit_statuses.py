"""A release reported as commit statuses: from its environments' statuses as stored (moto), for the demo's
configuration with its GitOps repository on GitHub, through a recording host API."""

from __future__ import annotations

import pytest

from promotions import clock
from promotions.config.repository import ConfigRepository
from promotions.git import GitRemote
from promotions.gitproviders.errors import GitProviderRejected
from promotions.gitproviders.models import CommitStatusUpdate
from promotions.http import HttpTransientError
from promotions.release.commit_statuses import CommitStatuses
from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.status import EnvironmentStatus
from promotions_local.demo import write_demo_configuration
from promotions_local.git_server import create_bare_repository

GITOPS = "https://github.com/acme/gitops.git"
TRIGGER_COMMIT = "a" * 40
QA_COMMIT = "b" * 40
RELEASE_LINK = "https://promotions.example/releases/"


class RecordingHost:
    def __init__(self, failure: Exception | None = None) -> None:
        self.statuses: list[tuple[str, str, CommitStatusUpdate]] = []
        self.failure = failure

    def provider(self, repo_url, choice):
        return self

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatusUpdate) -> None:
        if self.failure is not None:
            raise self.failure
        self.statuses.append((repo_url, sha, status))

    def seen(self) -> list[tuple[str, str, str, str]]:
        return [(repo, sha, status.name, status.state.value) for repo, sha, status in self.statuses]


def configuration_repository(tmp_path, store, gitops_url: str) -> ConfigRepository:
    config_dir = write_demo_configuration(tmp_path / "config", gitops_url)
    files = {
        p.relative_to(config_dir).as_posix(): p.read_bytes() for p in config_dir.rglob("*") if p.is_file()
    }
    create_bare_repository(tmp_path / "config.git", files, message="Promotion configuration")
    return ConfigRepository(GitRemote(str(tmp_path / "config.git")), "main", "", store)


def stored_release(store, configs: ConfigRepository, repo_url: str) -> Release:
    revision, _ = configs.latest()
    source = SourceRevision(repo_url=repo_url, branch="main", commit=TRIGGER_COMMIT)
    release = Release(
        id=release_id_for("guestbook", "guestbook-release", source),
        product="guestbook",
        flow="guestbook-release",
        version="2.0.0",
        trigger_environment="dev",
        source=source,
        config_revision=revision,
        created_at=clock.now(),
        environments=[
            EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit=TRIGGER_COMMIT),
            EnvironmentRun(name="qa", depends_on=("dev",)),
        ],
    )
    store.create(release)
    return release


def reporter(store, configs, host) -> CommitStatuses:
    return CommitStatuses(store, configs, host, lambda release_id: f"{RELEASE_LINK}{release_id}")


@pytest.fixture
def configs(tmp_path, store) -> ConfigRepository:
    return configuration_repository(tmp_path, store, GITOPS)


def test_a_running_environment_is_pending_on_the_trigger_commit_until_it_has_a_commit(store, configs):
    release = stored_release(store, configs, GITOPS)
    host = RecordingHost()
    store.set_environment_status(release.id, "qa", EnvironmentStatus.RUNNING)
    reporter(store, configs, host).report(release.id, "qa")

    assert host.seen() == [(GITOPS, TRIGGER_COMMIT, "promotions/qa", "pending")]
    [(_, _, status)] = host.statuses
    assert status.url == f"{RELEASE_LINK}{release.id}"
    assert status.description == "guestbook 2.0.0: Running"


def test_a_successful_environment_is_reported_on_both_commits(store, configs):
    release = stored_release(store, configs, GITOPS)
    host = RecordingHost()
    store.record_commit(release.id, "qa", QA_COMMIT, "Promote qa")
    store.set_environment_status(release.id, "qa", EnvironmentStatus.SUCCESSFUL)
    reporter(store, configs, host).report(release.id, "qa")

    assert host.seen() == [
        (GITOPS, TRIGGER_COMMIT, "promotions/qa", "success"),
        (GITOPS, QA_COMMIT, "promotions/qa", "success"),
    ]


def test_a_failed_environment_says_why(store, configs):
    release = stored_release(store, configs, GITOPS)
    host = RecordingHost()
    store.set_environment_status(
        release.id, "qa", EnvironmentStatus.FAILED, reason="GateFailed: smoke said no"
    )
    reporter(store, configs, host).report(release.id, "qa")

    [(_, _, status)] = host.statuses
    assert status.state.value == "failure"
    assert status.description == "guestbook 2.0.0: Failed (GateFailed: smoke said no)"


def test_repositories_on_no_known_host_are_not_reported(tmp_path, store):
    elsewhere = "https://git.example.invalid/acme/gitops.git"
    configs = configuration_repository(tmp_path, store, elsewhere)
    release = stored_release(store, configs, elsewhere)
    host = RecordingHost()
    store.record_commit(release.id, "qa", QA_COMMIT, "Promote qa")
    store.set_environment_status(release.id, "qa", EnvironmentStatus.SUCCESSFUL)
    reporter(store, configs, host).report(release.id, "qa")

    assert host.statuses == []


def test_a_host_that_refuses_the_status_changes_nothing_and_one_that_is_away_is_asked_again(store, configs):
    release = stored_release(store, configs, GITOPS)
    store.set_environment_status(release.id, "qa", EnvironmentStatus.RUNNING)

    reporter(store, configs, RecordingHost(GitProviderRejected("GitHub: no such commit"))).report(
        release.id, "qa"
    )
    with pytest.raises(HttpTransientError):
        reporter(store, configs, RecordingHost(HttpTransientError("GitHub answered 502"))).report(
            release.id, "qa"
        )
    assert store.get(release.id).environment("qa").status is EnvironmentStatus.RUNNING
