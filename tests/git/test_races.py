"""Concurrent writers: a push that lost the race is re-applied on the new tip, never forced, never lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from dulwich.objects import Commit
from ruamel.yaml import YAML

import promotions.git.push as push_module
from promotions.git import Author, GitRemote, GitTransientError, PushRaceLost, Snapshot
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer

REPO = "app.git"
SHARED_FILE = "promotions.yaml"


def other_writer_bumps_prod(remote_url: str, author: Author, version: str) -> str:
    outcome = GitRemote(remote_url).commit(
        "main",
        lambda _: {"envs/prod/values.yaml": f"image: app:{version}\n".encode()},
        f"Prod {version}",
        author,
    )
    assert outcome.commit_sha is not None
    return outcome.commit_sha


def assert_linear(history: list[Commit]) -> None:
    assert all(len(commit.parents) == 1 for commit in history[:-1]), (
        "every commit but the root has one parent"
    )
    assert not history[-1].parents


def test_edits_are_reapplied_on_the_tip_another_writer_pushed_first(
    server: GitHttpBackendServer | GuardedDulwichServer, author: Author, branch_history
):
    url = server.url_for(REPO)
    base = branch_history()[0].id.decode()
    seen_tips: list[str] = []
    other: list[str] = []

    def edits(snapshot: Snapshot) -> dict[str, bytes | None]:
        seen_tips.append(snapshot.commit_sha)
        if not other:
            other.append(other_writer_bumps_prod(url, author, "2.0.0"))
        return {"envs/dev/values.yaml": b"image: app:1.1.0\n"}

    outcome = GitRemote(url).commit("main", edits, "Dev 1.1.0", author)

    history = branch_history()
    assert seen_tips == [base, other[0]]
    assert outcome.attempts == 2
    assert outcome.base_sha == other[0]
    assert [commit.id.decode() for commit in history[:3]] == [outcome.commit_sha, other[0], base]
    tip = GitRemote(url).snapshot("main")
    assert tip.read("envs/dev/values.yaml") == b"image: app:1.1.0\n"
    assert tip.read("envs/prod/values.yaml") == b"image: app:2.0.0\n"


def test_a_ref_update_the_server_refuses_is_reapplied_not_reported_as_pushed(
    server: GitHttpBackendServer | GuardedDulwichServer,
    author: Author,
    branch_history,
    monkeypatch: pytest.MonkeyPatch,
):
    """The other writer lands after our compare-and-swap check but before our pack reaches the server: only
    the server's ref_status tells, and dulwich's send_pack does not raise on it."""
    url = server.url_for(REPO)
    other: list[str] = []
    interfered = threading.Event()
    real_pack = push_module.pack_objects_to_data

    def pack_after_another_push(objects):
        if not interfered.is_set():
            interfered.set()  # before the other writer's own push comes through here
            other.append(other_writer_bumps_prod(url, author, "3.0.0"))
        return real_pack(objects)

    monkeypatch.setattr(push_module, "pack_objects_to_data", pack_after_another_push)

    outcome = GitRemote(url).commit(
        "main", lambda _: {"envs/dev/values.yaml": b"image: app:1.2.0\n"}, "Dev", author
    )

    history = branch_history()
    assert outcome.attempts == 2
    assert [commit.id.decode() for commit in history[:2]] == [outcome.commit_sha, other[0]]
    tip = GitRemote(url).snapshot("main")
    assert tip.read("envs/prod/values.yaml") == b"image: app:3.0.0\n", "the other writer's update survives"
    assert tip.read("envs/dev/values.yaml") == b"image: app:1.2.0\n"


def test_push_race_lost_after_max_attempts_and_nothing_forced(
    server: GitHttpBackendServer | GuardedDulwichServer, author: Author, branch_history
):
    url = server.url_for(REPO)
    others: list[str] = []

    def edits_always_overtaken(snapshot: Snapshot) -> dict[str, bytes | None]:
        others.append(other_writer_bumps_prod(url, author, f"9.{len(others)}.0"))
        return {"envs/dev/values.yaml": b"image: app:never\n"}

    with pytest.raises(PushRaceLost) as raised:
        GitRemote(url).commit("main", edits_always_overtaken, "Never lands", author, max_attempts=3)

    assert isinstance(raised.value, GitTransientError)
    assert "3 attempts" in str(raised.value)
    assert [commit.id.decode() for commit in branch_history()[:3]] == others[::-1]


def promote_concurrently(url: str, author: Author, writers: int, promotions_each: int) -> None:
    """`writers` threads, each committing `promotions_each` promotions that add their own key to one shared
    YAML file: every promotion rewrites the same blob, so any lost update would drop a key."""
    remote = GitRemote(url)
    failures: list[BaseException] = []

    def add_key(key: str) -> Callable[[Snapshot], dict[str, bytes | None]]:
        def edits(snapshot: Snapshot) -> dict[str, bytes | None]:
            return {SHARED_FILE: (snapshot.read(SHARED_FILE) or b"") + f"{key}: promoted\n".encode()}

        return edits

    def writer(number: int) -> None:
        try:
            for promotion in range(promotions_each):
                key = f"writer-{number}-promotion-{promotion}"
                remote.commit(
                    "main", add_key(key), f"Promote {key}", author, max_attempts=50, prefetch=[SHARED_FILE]
                )
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures


def assert_every_promotion_landed_once(url: str, branch_history, writers: int, promotions_each: int) -> None:
    expected = {f"writer-{w}-promotion-{p}" for w in range(writers) for p in range(promotions_each)}
    content = GitRemote(url).snapshot("main").read(SHARED_FILE)
    assert content is not None
    assert set(YAML(typ="safe").load(content)) == expected
    history = branch_history()
    assert_linear(history)
    assert len(history) == 1 + len(expected), "one commit per promotion, no duplicate and no lost one"


@pytest.mark.timeout(180)
def test_concurrent_promotions_on_git_http_backend_all_land_in_a_linear_history(
    git_server: GitHttpBackendServer, author: Author, branch_history
):
    url = git_server.url_for(REPO)

    promote_concurrently(url, author, writers=8, promotions_each=20)

    assert_every_promotion_landed_once(url, branch_history, writers=8, promotions_each=20)


@pytest.mark.timeout(120)
def test_concurrent_promotions_on_the_guarded_dulwich_server_all_land(
    repo_root: Path, author: Author, branch_history
):
    with GuardedDulwichServer(repo_root) as server:
        url = server.url_for(REPO)
        promote_concurrently(url, author, writers=4, promotions_each=10)
        assert_every_promotion_landed_once(url, branch_history, writers=4, promotions_each=10)
