"""Load: many pushes to one product at once through the local stack. Releases overtake each other; no
environment ever moves back to an older version, and every one ends at the newest."""

from __future__ import annotations

import re
import time

import pytest
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Commit
from dulwich.repo import Repo
from promotions.git import GitRemote
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

pytestmark = pytest.mark.slow

PUSHES = 30
PROMOTED = ("qa", "staging", "prod")
APPS = ("api", "web")
TAG = re.compile(rb'^\s*tag:\s*"2\.0\.(\d+)"', re.MULTILINE)


def versions_over_time(bare_repo, path: str) -> list[int]:
    """The patch number of 2.0.N in `path` at each commit of main, oldest first (none before the first 2.0.N)."""
    with Repo(str(bare_repo)) as repo:
        history: list[Commit] = [
            entry.commit for entry in repo.get_walker(include=[repo.refs[b"refs/heads/main"]])
        ]
        versions = []
        for commit in reversed(history):
            try:
                _mode, blob = tree_lookup_path(repo.__getitem__, commit.tree, path.encode())
            except KeyError:
                continue
            match = TAG.search(repo[blob].data)
            if match:
                versions.append(int(match.group(1)))
        return versions


def test_thirty_pushes_at_once_leave_every_environment_at_the_newest_version(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        config_dir = gitops_world.write_config(url)
        pushes = [push_version(url, f"2.0.{number}") for number in range(PUSHES)]
        started = time.monotonic()
        with LocalPromotions(config_dir) as local:
            for push in pushes:
                local.submit_github_push(push)
            local.process_events(timeout=120)
            releases = local.wait_until_settled(timeout=300)
        elapsed = time.monotonic() - started
        newest = GitRemote(url).snapshot("main")

    superseded = [
        (release.version, run.name)
        for release in releases
        for run in release.environments
        if run.status is EnvironmentStatus.SUPERSEDED
    ]
    print(
        f"\n{len(releases)} releases of {PUSHES} pushes settled in {elapsed:.1f}s; "
        f"{len(superseded)} environment promotions superseded, in "
        f"{len({version for version, _ in superseded})} releases"
    )
    assert len(releases) == PUSHES
    assert all(release.status is ReleaseStatus.SUCCEEDED for release in releases), [
        (release.version, release.reason)
        for release in releases
        if release.status is not ReleaseStatus.SUCCEEDED
    ]
    for app in APPS:
        for environment in PROMOTED:
            path = f"apps/{app}/{environment}/values.yaml"
            assert TAG.search(newest.read(path)).group(1) == str(PUSHES - 1).encode(), path
            versions = versions_over_time(gitops_world.repos / "gitops.git", path)
            assert versions == sorted(versions), f"{path} moved backwards: {versions}"
    newest_release = next(release for release in releases if release.version == f"2.0.{PUSHES - 1}")
    assert all(run.status is EnvironmentStatus.SUCCESSFUL for run in newest_release.environments)
