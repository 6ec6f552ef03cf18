"""A ref another writer holds locked is a lost race; a hook's refusal says what the hook said."""

from __future__ import annotations

import threading
from pathlib import Path

import promotions.git.remote as remote_module
import pytest
from promotions.git import Author, GitRemote, PushRaceLost, PushRejected
from promotions_local.git_server import GitHttpBackendServer

REPO = "app.git"


def install_pre_receive_hook(bare_repo: Path, script: str) -> None:
    hook = bare_repo / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(f"#!/bin/sh\n{script}\nexit 1\n")
    hook.chmod(0o755)


def test_a_hook_s_own_message_is_in_the_refusal(git_server: GitHttpBackendServer, bare_repo: Path, author):
    install_pre_receive_hook(bare_repo, "echo 'main is protected: promotions go through pull requests' >&2")

    with pytest.raises(PushRejected) as raised:
        GitRemote(git_server.url_for(REPO)).commit("main", lambda _: {"a.txt": b"a\n"}, "Protected", author)

    assert "pre-receive hook declined" in str(raised.value)
    assert "main is protected: promotions go through pull requests" in str(raised.value)


def test_a_hook_s_message_is_sanitised_and_bounded(git_server: GitHttpBackendServer, bare_repo: Path, author):
    install_pre_receive_hook(
        bare_repo,
        "printf '\\033[31mmain is protected\\033[0m\\a\\r\\n' >&2\nhead -c 5000 /dev/zero | tr '\\0' x >&2",
    )

    with pytest.raises(PushRejected) as raised:
        GitRemote(git_server.url_for(REPO)).commit("main", lambda _: {"a.txt": b"a\n"}, "Protected", author)

    message = str(raised.value)
    assert "main is protected" in message
    assert not any(ord(character) < 32 for character in message), "no escape, bell or line break survives"
    assert len(message) < 1000
    assert message.count("x") < 600


def test_a_ref_locked_by_another_writer_is_retried_as_a_lost_race(bare_repo: Path, author, monkeypatch):
    """A repository given by path: dulwich raises FileLocked while another writer holds refs/heads/main.lock."""
    lock = bare_repo / "refs" / "heads" / "main.lock"
    lock.write_bytes(b"")
    back_offs: list[int] = []

    def back_off_then_release(retry: int) -> None:
        back_offs.append(retry)
        lock.unlink(missing_ok=True)

    monkeypatch.setattr(remote_module, "back_off", back_off_then_release)

    outcome = GitRemote(str(bare_repo)).commit("main", lambda _: {"a.txt": b"a\n"}, "After the lock", author)

    assert outcome.attempts == 2 and back_offs == [1]
    assert GitRemote(str(bare_repo)).snapshot("main").read("a.txt") == b"a\n"


def test_a_lock_never_released_ends_as_push_race_lost(bare_repo: Path, author, monkeypatch):
    (bare_repo / "refs" / "heads" / "main.lock").write_bytes(b"")
    monkeypatch.setattr(remote_module, "back_off", lambda retry: None)

    with pytest.raises(PushRaceLost, match="3 attempts"):
        GitRemote(str(bare_repo)).commit(
            "main", lambda _: {"a.txt": b"a\n"}, "Locked", author, max_attempts=3
        )


def test_sibling_writers_on_a_repository_given_by_path_all_land(bare_repo: Path, author: Author):
    writers, commits_each = 4, 5
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        remote = GitRemote(str(bare_repo))
        try:
            for number in range(commits_each):
                remote.commit(
                    "main",
                    lambda _, name=f"w{writer}-{number}.txt": {name: b"x\n"},
                    f"Writer {writer} commit {number}",
                    author,
                    max_attempts=50,
                )
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    tip = GitRemote(str(bare_repo)).snapshot("main")
    assert len([path for path in tip.list_files("") if path.startswith("w")]) == writers * commits_each
