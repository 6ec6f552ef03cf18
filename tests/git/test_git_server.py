"""The local Git servers and create_bare_repository, as the demo and the tests rely on them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dulwich.client import get_transport_and_path
from dulwich.objects import Blob, Commit
from dulwich.pack import pack_objects_to_data
from dulwich.repo import Repo

from promotions.git import Author, GitRemote
from promotions_local.git_server import (
    GitHttpBackendServer,
    GuardedDulwichServer,
    create_bare_repository,
    serve_repositories,
)

REPO = "app.git"


def test_create_bare_repository_commits_the_files_on_the_branch_and_head(tmp_path: Path, author: Author):
    sha = create_bare_repository(
        tmp_path / "site.git",
        {"a/b.txt": b"b\n", "c.txt": b"c\n"},
        branch="trunk",
        message="Seed",
        author=author,
    )

    with Repo(str(tmp_path / "site.git")) as repo:
        assert repo.bare
        assert repo.refs[b"refs/heads/trunk"].decode() == sha
        assert repo.refs.read_ref(b"HEAD") == b"ref: refs/heads/trunk"
        commit = repo[sha.encode()]
        assert isinstance(commit, Commit)
        assert commit.message == b"Seed\n"
        assert commit.author == author.identity
        assert not commit.parents
    snapshot = GitRemote(str(tmp_path / "site.git")).snapshot("trunk")
    assert {path: snapshot.read(path) for path in snapshot.list_files()} == {
        "a/b.txt": b"b\n",
        "c.txt": b"c\n",
    }


@pytest.mark.parametrize(
    ("files", "message"), [({}, "files is empty"), ({"../escape": b"x"}, "invalid repository path")]
)
def test_create_bare_repository_refuses_bad_files(tmp_path: Path, files: dict[str, bytes], message: str):
    with pytest.raises(ValueError, match=message):
        create_bare_repository(tmp_path / "bad.git", files)


def test_servers_count_the_requests_they_serve(server: GitHttpBackendServer | GuardedDulwichServer):
    assert server.requests_served == 0

    GitRemote(server.url_for(REPO)).snapshot("main")

    assert server.requests_served >= 2


def test_a_server_must_run_before_it_has_urls(repo_root: Path):
    with pytest.raises(RuntimeError, match="not running"):
        GuardedDulwichServer(repo_root).url_for(REPO)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git on PATH")
def test_serve_repositories_prefers_git_http_backend(repo_root: Path):
    assert isinstance(serve_repositories(repo_root), GitHttpBackendServer)


def test_the_guard_reports_a_stale_ref_update_as_rejected(repo_root: Path, bare_repo: Path, author: Author):
    """Dulwich's own receive-pack would answer `ok` here while keeping the other commit: a lost update."""
    with Repo(str(bare_repo)) as repo:
        advertised = repo.refs[b"refs/heads/main"]
        ours = commit_on(repo, advertised, author, b"ours\n")
        theirs = commit_on(repo, advertised, author, b"theirs\n")

    def move_ref_after_advertisement(have, want, *, ofs_delta=False, progress=None):
        with Repo(str(bare_repo)) as repo:
            repo.refs[b"refs/heads/main"] = theirs.id
        return pack_objects_to_data([ours])

    with GuardedDulwichServer(repo_root) as server:
        client, path = get_transport_and_path(server.url_for(REPO))
        result = client.send_pack(
            path, lambda refs: {b"refs/heads/main": ours.id}, move_ref_after_advertisement
        )

    assert result.ref_status is not None
    assert result.ref_status[b"refs/heads/main"] is not None, "the stale update must be reported ng"
    with Repo(str(bare_repo)) as repo:
        assert repo.refs[b"refs/heads/main"] == theirs.id


def commit_on(repo: Repo, parent: bytes, author: Author, content: bytes) -> Commit:
    """A commit object on `parent` changing `content.txt`, stored in the object store but on no ref."""
    tree = repo[repo[parent].tree]
    blob = Blob.from_string(content)
    tree[b"content.txt"] = (0o100644, blob.id)
    commit = Commit()
    commit.tree, commit.parents, commit.message = tree.id, [parent], content
    commit.author = commit.committer = author.identity
    commit.author_time = commit.commit_time = 1_700_000_000
    commit.author_timezone = commit.commit_timezone = 0
    for obj in (blob, tree, commit):
        repo.object_store.add_object(obj)
    return commit


@pytest.mark.parametrize("server", ["git-http-backend", "guarded-dulwich"], indirect=True)
def test_large_pushes_arrive_in_chunked_requests(
    server: GitHttpBackendServer | GuardedDulwichServer, author: Author
):
    """dulwich streams request bodies above http.postBuffer (1 MiB) with chunked transfer encoding."""
    remote = GitRemote(server.url_for(REPO))
    payload = os.urandom(3 * 1024 * 1024)

    remote.commit("main", lambda _: {"blobs/large.bin": payload}, "Large", author)

    assert remote.snapshot("main").read("blobs/large.bin") == payload
