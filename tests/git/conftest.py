"""Fixtures for the Git engine tests: a seeded bare repository served by each local server."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dulwich.objects import Blob, Commit
from dulwich.repo import Repo

from promotions.git import Author, GitRemote
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer, create_bare_repository

REPO_NAME = "app.git"
SEED_FILES = {
    "README.md": b"# app\n",
    "envs/dev/values.yaml": b"image: app:1.0.0\nreplicas: 1\n",
    "envs/prod/values.yaml": b"image: app:0.9.0\nreplicas: 3\n",
    "envs/prod/extra/config.yaml": b"feature: off\n",
}
HAS_GIT = shutil.which("git") is not None

SERVERS: dict[str, Callable[[Path], GitHttpBackendServer | GuardedDulwichServer]] = {
    "git-http-backend": GitHttpBackendServer,
    "git-http-backend-v0": lambda root: GitHttpBackendServer(root, protocol_v2=False),
    "guarded-dulwich": GuardedDulwichServer,
}


@pytest.fixture
def seed_files() -> dict[str, bytes]:
    return dict(SEED_FILES)


@pytest.fixture
def author() -> Author:
    return Author("Promotion Bot", "bot@example.com")


@pytest.fixture
def repo_root(tmp_path: Path) -> Path:
    root = tmp_path / "repos"
    root.mkdir()
    create_bare_repository(root / REPO_NAME, SEED_FILES)
    return root


@pytest.fixture
def bare_repo(repo_root: Path) -> Path:
    return repo_root / REPO_NAME


@pytest.fixture(params=list(SERVERS))
def server(
    request: pytest.FixtureRequest, repo_root: Path
) -> Iterator[GitHttpBackendServer | GuardedDulwichServer]:
    """Each local server: git http-backend speaking v2 (GitHub-like), speaking only v0, and dulwich's own.

    A test picks some with `@pytest.mark.parametrize("server", [...names], indirect=True)`.
    """
    if request.param.startswith("git-http-backend") and not HAS_GIT:
        pytest.skip("git http-backend needs the git binary")
    with SERVERS[request.param](repo_root) as running:
        yield running


@pytest.fixture
def git_server(repo_root: Path) -> Iterator[GitHttpBackendServer]:
    if not HAS_GIT:
        pytest.skip("git http-backend needs the git binary")
    with GitHttpBackendServer(repo_root) as running:
        yield running


@pytest.fixture
def remote(server: GitHttpBackendServer | GuardedDulwichServer) -> GitRemote:
    return GitRemote(server.url_for(REPO_NAME))


@pytest.fixture
def branch_history(bare_repo: Path) -> Callable[[str], list[Commit]]:
    """Reads a branch's first-parent history straight from the served repository on disk, newest first."""

    def read(branch: str = "main") -> list[Commit]:
        with Repo(str(bare_repo)) as repo:
            commits = []
            sha = repo.refs[f"refs/heads/{branch}".encode()]
            while True:
                commit = repo[sha]
                assert isinstance(commit, Commit)
                commits.append(commit)
                if not commit.parents:
                    return commits
                sha = commit.parents[0]

    return read


@pytest.fixture
def add_commits(bare_repo: Path, author: Author) -> Callable[[int], list[str]]:
    """Appends commits to `main` on disk (no server), each rewriting `history.txt`; returns their shas."""

    def add(count: int) -> list[str]:
        shas = []
        with Repo(str(bare_repo)) as repo:
            for number in range(count):
                parent = repo.refs[b"refs/heads/main"]
                tree = repo[repo[parent].tree]
                blob = Blob.from_string(f"commit {number}\n".encode())
                repo.object_store.add_object(blob)
                tree[b"history.txt"] = (0o100644, blob.id)
                repo.object_store.add_object(tree)
                commit = Commit()
                commit.tree, commit.parents = tree.id, [parent]
                commit.author = commit.committer = author.identity
                commit.author_time = commit.commit_time = 1_700_000_000 + number
                commit.author_timezone = commit.commit_timezone = 0
                commit.message = f"commit {number}\n".encode()
                repo.object_store.add_object(commit)
                repo.refs[b"refs/heads/main"] = commit.id
                shas.append(commit.id.decode())
        return shas

    return add
