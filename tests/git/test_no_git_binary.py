"""The runtime needs no git binary and starts no process: the Lambda runtime has neither git nor a shell."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from promotions.git import Author, GitRemote
from promotions_local.git_server import GuardedDulwichServer, create_bare_repository, serve_repositories


@pytest.fixture
def no_git_and_no_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", forbidden)
    for name in ("fork", "posix_spawn", "posix_spawnp", "system", "execv", "execve"):
        monkeypatch.setattr(os, name, forbidden)


@pytest.mark.usefixtures("no_git_and_no_processes")
def test_snapshot_and_commit_run_without_git_on_path(tmp_path: Path, author: Author):
    assert shutil.which("git") is None
    root = tmp_path / "repos"
    root.mkdir()
    create_bare_repository(root / "app.git", {"envs/dev/values.yaml": b"image: app:1\n"})

    with serve_repositories(root) as server:
        assert isinstance(server, GuardedDulwichServer)
        for version, url in enumerate([server.url_for("app.git"), str(root / "app.git")], start=2):
            remote = GitRemote(url)
            content = f"image: app:{version}\n".encode()

            outcome = remote.commit(
                "main", lambda _, content=content: {"envs/dev/values.yaml": content}, "Bump", author
            )

            assert outcome.commit_sha is not None
            snapshot = remote.snapshot("main", ["envs/dev"])
            assert snapshot.commit_sha == outcome.commit_sha
            assert snapshot.read("envs/dev/values.yaml") == content
            assert (
                remote.snapshot(outcome.base_sha).read("envs/dev/values.yaml")
                == f"image: app:{version - 1}\n".encode()
            )
