"""Releases of one product taking turns through the real state machine on the local stack: the queue policy
(one after another; past the limit the oldest waiting one goes), the terminate policy, and the environment
lock that keeps a terminated release's push and the next release's apart."""

from __future__ import annotations

import itertools
import json
import re
import stat

import pytest
from dulwich.objects import Commit
from dulwich.repo import Repo

from promotions import runtime
from promotions.git import GitRemote
from promotions.git.trailers import trailers_of
from promotions.release.concurrency import CONCURRENCY_ACTOR
from promotions.release.model import Release
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions

from .conftest import before_qa_and_staging, board_check, document, wait_for, write_documents

pytestmark = pytest.mark.slow

PRODUCT = "guestbook"
PROMOTED = ("qa", "staging", "prod")
TAG = re.compile(rb'^\s*tag:\s*"([^"]*)"', re.MULTILINE)


def policy(config_dir, name: str) -> None:
    write_documents(
        config_dir,
        "concurrency.yaml",
        [document("promotions.dev/v1alpha1", "PromotionConcurrency", PRODUCT, {"policy": name})],
    )


def releases_of_the_product() -> list[Release]:
    """Oldest first, queued ones included (they have no execution yet)."""
    store = runtime.services().store
    page = store.list_releases(product=PRODUCT, limit=100)
    return sorted(
        (store.get(summary.id) for summary in page.releases), key=lambda release: release.created_at
    )


def all_ended(count: int, timeout: float = 240) -> list[Release]:
    def ended() -> bool:
        found = releases_of_the_product()
        return len(found) == count and all(release.status.is_final for release in found)

    wait_for(ended, f"{count} releases ended", timeout, 0.02)
    return releases_of_the_product()


def board(config_dir, api, approved: set[str]) -> None:
    """qa and staging wait for a board that approves only the versions in `approved` (an http check polling
    every minute)."""

    def answer(request):
        version = json.loads(request.body)["version"]
        return 200, {"status": "ok" if version in approved else "pending"}, {}

    api.respond("POST", "/board", answer)
    write_documents(
        config_dir,
        "board.yaml",
        [board_check(api, "board", {"version": "${VERSION}"}), before_qa_and_staging("board")],
    )


def promotions_of(bare_repo, environment: str) -> list[str]:
    """The release of each promotion of `environment` on main, oldest first."""
    with Repo(str(bare_repo)) as repo:
        history: list[Commit] = [
            entry.commit for entry in repo.get_walker(include=[repo.refs[b"refs/heads/main"]])
        ]
    found = []
    for commit in reversed(history):
        trailers = trailers_of(commit.message)
        if trailers.get("Promotion-Environment") == environment:
            found.append(trailers["Promotion-Release"])
    return found


@pytest.fixture
def world(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server:
        url = server.url_for("gitops.git")
        yield (
            gitops_world,
            gitops_world.write_config(url),
            GitRemote(url),
            lambda version: push_version(url, version),
        )


def test_queue_runs_three_releases_of_a_product_one_after_another(world):
    _, config_dir, remote, push = world
    pushes = [push(version) for version in ("50.0.0", "50.0.1", "50.0.2")]

    with LocalPromotions(config_dir) as local:
        for pushed in pushes:
            local.submit_github_push(pushed)
        local.process_events()
        releases = all_ended(3)

    assert [release.status for release in releases] == [ReleaseStatus.SUCCEEDED] * 3, [
        r.reason for r in releases
    ]
    for earlier, later in itertools.pairwise(releases):
        earlier_end = max(run.finished_at for run in earlier.promoted_environments)
        later_start = min(run.started_at for run in later.promoted_environments)
        assert earlier_end <= later_start, (earlier.version, later.version)
    assert {
        TAG.search(remote.snapshot("main").read(f"apps/api/{env}/values.yaml")).group(1) for env in PROMOTED
    } == {releases[-1].version.encode()}


def test_terminate_policy_a_new_release_terminates_the_active_one(world, api):
    _, config_dir, _, push = world
    policy(config_dir, "terminate")
    board(config_dir, api, approved={"51.0.1"})

    with LocalPromotions(config_dir) as local:
        local.submit_github_push(push("51.0.0"))
        local.process_events()
        wait_for(lambda: len(api.requests) >= 2, "the first release waiting for the board", 180, 0.02)
        local.submit_github_push(push("51.0.1"))
        local.process_events()
        first, second = all_ended(2)

    assert first.version == "51.0.0" and first.status is ReleaseStatus.TERMINATED
    assert (
        first.reason
        == f"terminated by {CONCURRENCY_ACTOR}: release {second.id} replaced it (policy terminate)"
    )
    assert {first.environment(env).status for env in PROMOTED} == {EnvironmentStatus.TERMINATED}
    assert second.status is ReleaseStatus.SUCCEEDED, second.reason
    assert min(run.started_at for run in second.promoted_environments) >= max(
        run.finished_at for run in first.promoted_environments
    )


def test_past_fifty_waiting_releases_the_oldest_waiting_one_is_terminated(world, api):
    _, config_dir, _, push = world
    board(config_dir, api, approved=set())
    pushes = [push(f"52.0.{number}") for number in range(52)]

    with LocalPromotions(config_dir) as local:
        local.submit_github_push(pushes[0])
        local.process_events()
        wait_for(lambda: len(api.requests) >= 2, "the first release waiting for the board", 180, 0.02)
        for pushed in pushes[1:]:
            local.submit_github_push(pushed)
        local.process_events(timeout=300)
        releases = releases_of_the_product()

    active, oldest_waiting, *waiting = releases
    assert len(releases) == 52
    assert active.version == "52.0.0" and active.status is ReleaseStatus.RUNNING
    assert oldest_waiting.version == "52.0.1" and oldest_waiting.status is ReleaseStatus.TERMINATED
    assert "more than 50 releases of guestbook were waiting" in oldest_waiting.reason
    assert [release.status for release in waiting] == [ReleaseStatus.QUEUED] * 50


def test_a_push_under_way_when_its_release_is_terminated_finishes_before_the_next_release_writes(world, api):
    gitops_world, config_dir, _, push = world
    policy(config_dir, "terminate")
    bare = gitops_world.repos / "gitops.git"
    # Every push takes a second on the server: long enough to terminate the release while it pushes.
    hook = bare / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\ncat >/dev/null\nsleep 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)

    with LocalPromotions(config_dir) as local:
        leases = runtime.services().leases
        local.submit_github_push(push("53.0.0"))
        local.process_events()
        wait_for(
            lambda: leases.environment_holder(PRODUCT, "qa") is not None,
            "the first release pushing qa",
            180,
            0.02,
        )
        local.submit_github_push(push("53.0.1"))
        local.process_events()
        first, second = all_ended(2)

    assert first.status is ReleaseStatus.TERMINATED and second.status is ReleaseStatus.SUCCEEDED, (
        second.reason
    )
    qa = first.environment("qa")
    # the push under way finished and kept its commit; the next release wrote qa only after it
    assert qa.status is EnvironmentStatus.TERMINATED and qa.commit is not None
    for environment in PROMOTED:
        order = promotions_of(bare, environment)
        assert order == sorted(order, key=[first.id, second.id].index), (environment, order)
        assert order[-1] == second.id
