"""GitRemote.snapshot: a revision read into memory, from each local server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from dulwich.objects import Tag
from dulwich.repo import Repo

from promotions.git import GitRemote, RefNotFound
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer

REPO = "app.git"


def main_sha(bare_repo: Path) -> str:
    with Repo(str(bare_repo)) as repo:
        return repo.refs[b"refs/heads/main"].decode()


def test_branch_snapshot_holds_every_file_of_the_tip(remote: GitRemote, bare_repo: Path, seed_files):
    snapshot = remote.snapshot("main")

    assert snapshot.commit_sha == main_sha(bare_repo)
    assert snapshot.list_files() == sorted(seed_files)
    assert {path: snapshot.read(path) for path in seed_files} == seed_files


def test_head_and_full_ref_names_resolve_like_the_branch(remote: GitRemote, bare_repo: Path):
    assert remote.snapshot("HEAD").commit_sha == main_sha(bare_repo)
    assert remote.snapshot("refs/heads/main").commit_sha == main_sha(bare_repo)


def test_list_files_takes_a_directory_or_file_prefix(remote: GitRemote):
    snapshot = remote.snapshot("main")

    prod = ["envs/prod/extra/config.yaml", "envs/prod/values.yaml"]
    assert snapshot.list_files("envs/prod") == prod
    assert snapshot.list_files("envs/prod/") == prod
    assert snapshot.list_files("envs/prod/values.yaml") == ["envs/prod/values.yaml"]
    assert snapshot.list_files("envs/pro") == []
    assert snapshot.list_files("missing") == []


def test_read_is_none_for_missing_files_and_directories(remote: GitRemote):
    snapshot = remote.snapshot("main")

    assert snapshot.read("envs/dev/missing.yaml") is None
    assert snapshot.read("envs/dev") is None
    assert snapshot.read("README.md/below-a-file") is None


@pytest.mark.parametrize("path", ["../secrets", "/etc/passwd", "envs//dev", "envs/./dev", ".git/config", ""])
def test_paths_outside_the_tree_spelling_are_refused(remote: GitRemote, path: str):
    snapshot = remote.snapshot("main")

    with pytest.raises(ValueError, match="invalid repository path"):
        snapshot.read(path)


@pytest.mark.parametrize("revision", ["", "bad..name", "refs/heads/with space"])
def test_malformed_revisions_are_refused_before_any_request(remote: GitRemote, revision: str):
    with pytest.raises(ValueError, match="revision"):
        remote.snapshot(revision)


def test_an_older_commit_is_read_by_sha(remote: GitRemote, add_commits: Callable[[int], list[str]]):
    first, _second, third = add_commits(3)

    old = remote.snapshot(first)
    assert old.commit_sha == first
    assert old.read("history.txt") == b"commit 0\n"
    assert remote.snapshot(third).read("history.txt") == b"commit 2\n"


def test_protocol_v2_asks_for_a_sha_directly(
    git_server: GitHttpBackendServer,
    add_commits: Callable[[int], list[str]],
    caplog: pytest.LogCaptureFixture,
):
    first, _second = add_commits(2)

    with caplog.at_level(logging.INFO, logger="promotions.git"):
        assert GitRemote(git_server.url_for(REPO)).snapshot(first).read("history.txt") == b"commit 0\n"

    assert "cannot be asked for by sha" not in caplog.text


@pytest.mark.parametrize("server", ["git-http-backend-v0", "guarded-dulwich"], indirect=True)
def test_protocol_v0_deepens_until_the_commit_shows_up(
    server: GitHttpBackendServer | GuardedDulwichServer,
    add_commits: Callable[[int], list[str]],
    caplog: pytest.LogCaptureFixture,
):
    shas = add_commits(20)

    with caplog.at_level(logging.INFO, logger="promotions.git"):
        snapshot = GitRemote(server.url_for(REPO)).snapshot(shas[0])

    assert snapshot.read("history.txt") == b"commit 0\n"
    assert "at depth 16" in caplog.text
    assert "at depth 256" in caplog.text


def test_unknown_branch_raises_ref_not_found_naming_repo_and_ref(remote: GitRemote):
    with pytest.raises(RefNotFound) as raised:
        remote.snapshot("release/next")

    assert remote.url in str(raised.value)
    assert "refs/heads/release/next" in str(raised.value)


def test_unknown_commit_raises_ref_not_found(remote: GitRemote):
    with pytest.raises(RefNotFound, match="f" * 40):
        remote.snapshot("f" * 40)


def test_annotated_tag_is_peeled_to_its_commit(remote: GitRemote, bare_repo: Path, author):
    with Repo(str(bare_repo)) as repo:
        commit_id = repo.refs[b"refs/heads/main"]
        tag = Tag()
        tag.name, tag.object, tag.message = b"v1", (repo[commit_id].__class__, commit_id), b"release v1\n"
        tag.tagger, tag.tag_time, tag.tag_timezone = author.identity, 1_700_000_000, 0
        repo.object_store.add_object(tag)
        repo.refs[b"refs/tags/v1"] = tag.id

    assert remote.snapshot("refs/tags/v1").commit_sha == commit_id.decode()


def test_partial_clone_fetches_what_lies_under_the_paths_and_the_rest_on_first_use(
    git_server: GitHttpBackendServer, caplog: pytest.LogCaptureFixture
):
    remote = GitRemote(git_server.url_for(REPO))
    with caplog.at_level(logging.INFO, logger="promotions.git"):
        snapshot = remote.snapshot("main", ["envs/dev"])
    assert "partial clone (filter tree:2)" in caplog.text

    before = git_server.requests_served
    assert snapshot.read("envs/dev/values.yaml") == b"image: app:1.0.0\nreplicas: 1\n"
    assert snapshot.list_files("envs/dev") == ["envs/dev/values.yaml"]
    assert git_server.requests_served == before, "reading and listing under the paths must not hit the server"

    assert snapshot.read("envs/prod/values.yaml") == b"image: app:0.9.0\nreplicas: 3\n"
    after_read = git_server.requests_served
    assert after_read > before, "a file outside the paths is fetched when first read"
    assert len(snapshot.list_files()) == 4
    assert git_server.requests_served > after_read, "so are the trees outside the paths, when listed"


@pytest.mark.parametrize("server", ["git-http-backend-v0", "guarded-dulwich"], indirect=True)
def test_servers_without_filters_send_the_full_tree(
    server: GitHttpBackendServer | GuardedDulwichServer, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO, logger="promotions.git"):
        snapshot = GitRemote(server.url_for(REPO)).snapshot("main", ["envs/dev"])
    assert "the server ignores partial-clone filters" in caplog.text

    before = server.requests_served
    assert snapshot.read("README.md") == b"# app\n"
    assert server.requests_served == before
