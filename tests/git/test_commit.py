"""GitRemote.commit: edits applied to a branch tip and pushed as one commit, on each local server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

import promotions.git.push as push_module
from promotions.git import Author, GitRemote, RefNotFound, Snapshot, with_trailers
from promotions_local.git_server import GitHttpBackendServer

REPO = "app.git"


def tree_at(repo: Repo, commit_id: bytes, path: str) -> Tree:
    tree = repo[repo[commit_id].tree]
    for part in filter(None, path.split("/")):
        tree = repo[tree[part.encode()][1]]
    assert isinstance(tree, Tree)
    return tree


def test_commit_writes_adds_and_deletes_files_on_the_tip(
    remote: GitRemote, author: Author, branch_history: Callable[..., list[Commit]]
):
    base = branch_history()[0].id.decode()

    def edits(snapshot: Snapshot) -> dict[str, bytes | None]:
        current = snapshot.read("envs/dev/values.yaml")
        assert current is not None
        return {
            "envs/dev/values.yaml": current.replace(b"1.0.0", b"1.1.0"),
            "envs/dev/new/notes.txt": b"new\n",
            "README.md": None,
        }

    outcome = remote.commit("main", edits, "Promote app 1.1.0 to dev", author)

    history = branch_history()
    assert outcome.commit_sha == history[0].id.decode()
    assert outcome.base_sha == base == history[1].id.decode()
    assert outcome.attempts == 1
    assert outcome.changed_paths == ("README.md", "envs/dev/new/notes.txt", "envs/dev/values.yaml")
    after = remote.snapshot("main")
    assert after.read("envs/dev/values.yaml") == b"image: app:1.1.0\nreplicas: 1\n"
    assert after.read("envs/dev/new/notes.txt") == b"new\n"
    assert after.read("README.md") is None
    assert after.read("envs/prod/values.yaml") == b"image: app:0.9.0\nreplicas: 3\n"


def test_deleting_the_last_file_of_a_directory_removes_the_directory(
    remote: GitRemote, author: Author, bare_repo: Path
):
    outcome = remote.commit("main", lambda _: {"envs/prod/extra/config.yaml": None}, "Drop extra", author)

    assert outcome.commit_sha is not None
    with Repo(str(bare_repo)) as repo:
        assert b"extra" not in tree_at(repo, outcome.commit_sha.encode(), "envs/prod")


def test_edits_the_tip_already_holds_make_no_commit(
    remote: GitRemote, author: Author, seed_files: dict[str, bytes], branch_history
):
    before = branch_history()

    outcome = remote.commit(
        "main",
        lambda _: {"envs/dev/values.yaml": seed_files["envs/dev/values.yaml"], "absent.yaml": None},
        "Nothing to do",
        author,
    )

    assert outcome.commit_sha is None
    assert outcome.base_sha == before[0].id.decode()
    assert outcome.changed_paths == ()
    assert [commit.id for commit in branch_history()] == [commit.id for commit in before]


def test_commit_records_author_committer_utc_times_and_message(
    remote: GitRemote, author: Author, branch_history
):
    message = with_trailers("Promote app 1.1.0 to dev", {"Promotion-Id": "p-42"})
    started = int(time.time())

    remote.commit("main", lambda _: {"envs/dev/values.yaml": b"image: app:1.1.0\n"}, message, author)

    commit = branch_history()[0]
    assert commit.author == commit.committer == b"Promotion Bot <bot@example.com>"
    assert commit.author_timezone == commit.commit_timezone == 0
    assert started <= commit.commit_time <= int(time.time())
    assert commit.message == b"Promote app 1.1.0 to dev\n\nPromotion-Id: p-42\n"


def test_only_the_objects_the_commit_adds_are_pushed(
    remote: GitRemote, author: Author, bare_repo: Path, monkeypatch: pytest.MonkeyPatch
):
    pushed: list[set[bytes]] = []
    real_pack = push_module.pack_objects_to_data

    def spy(objects):
        pushed.append({obj.id for obj in objects})
        return real_pack(objects)

    monkeypatch.setattr(push_module, "pack_objects_to_data", spy)

    outcome = remote.commit("main", lambda _: {"envs/dev/values.yaml": b"image: app:2.0.0\n"}, "Bump", author)

    assert outcome.commit_sha is not None
    new = outcome.commit_sha.encode()
    with Repo(str(bare_repo)) as repo:
        root, envs, dev = (tree_at(repo, new, path) for path in ("", "envs", "envs/dev"))
        expected = {new, root.id, envs.id, dev.id, dev[b"values.yaml"][1]}
    assert pushed == [expected]


def test_the_executable_bit_survives_an_edit(remote: GitRemote, author: Author, bare_repo: Path):
    with Repo(str(bare_repo)) as repo:
        parent = repo.refs[b"refs/heads/main"]
        script = Blob.from_string(b"#!/bin/sh\necho v1\n")
        tree = repo[repo[parent].tree]
        tree[b"deploy.sh"] = (0o100755, script.id)
        commit = Commit()
        commit.tree, commit.parents, commit.message = tree.id, [parent], b"Add deploy.sh\n"
        commit.author = commit.committer = author.identity
        commit.author_time = commit.commit_time = 1_700_000_000
        commit.author_timezone = commit.commit_timezone = 0
        for obj in (script, tree, commit):
            repo.object_store.add_object(obj)
        repo.refs[b"refs/heads/main"] = commit.id

    outcome = remote.commit(
        "main", lambda _: {"deploy.sh": b"#!/bin/sh\necho v2\n", "new.sh": b"echo\n"}, "Edit scripts", author
    )

    assert outcome.commit_sha is not None
    with Repo(str(bare_repo)) as repo:
        root = tree_at(repo, outcome.commit_sha.encode(), "")
        assert root[b"deploy.sh"][0] == 0o100755
        assert root[b"new.sh"][0] == 0o100644


def test_a_file_can_become_a_directory_in_one_commit(remote: GitRemote, author: Author):
    remote.commit("main", lambda _: {"README.md": None, "README.md/part-1.md": b"one\n"}, "Split", author)

    assert remote.snapshot("main").list_files("README.md") == ["README.md/part-1.md"]


@pytest.mark.parametrize(
    ("edits", "error", "message"),
    [
        ({"README.md/child.txt": b"x"}, ValueError, "'README.md' is a file"),
        ({"envs/dev": b"x"}, ValueError, "a directory"),
        ({"envs": None}, ValueError, "a directory"),
        ({"../outside": b"x"}, ValueError, "invalid repository path"),
        ({"envs/dev/values.yaml": "text, not bytes"}, TypeError, "must be bytes or None"),
        (["envs/dev/values.yaml"], TypeError, "must return a mapping"),
    ],
)
def test_invalid_edits_are_refused_and_nothing_is_pushed(
    remote: GitRemote, author: Author, branch_history, edits, error: type[Exception], message: str
):
    before = branch_history()[0].id

    with pytest.raises(error, match=message):
        remote.commit("main", lambda _: edits, "Invalid", author)

    assert branch_history()[0].id == before


def test_commit_to_a_missing_branch_raises_ref_not_found(remote: GitRemote, author: Author):
    with pytest.raises(RefNotFound, match="refs/heads/release"):
        remote.commit("release", lambda _: {"a.txt": b"a\n"}, "To nowhere", author)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"branch": "refs/tags/v1"}, "commits go to branches"),
        ({"branch": "bad..name"}, "invalid branch name"),
        ({"message": "  "}, "commit message is empty"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_commit_arguments_are_checked_before_any_request(
    git_server: GitHttpBackendServer, author: Author, arguments: dict, message: str
):
    remote = GitRemote(git_server.url_for(REPO))
    call = {"branch": "main", "message": "Promote", "max_attempts": 8} | arguments

    with pytest.raises(ValueError, match=message):
        remote.commit(
            call["branch"], lambda _: {}, call["message"], author, max_attempts=call["max_attempts"]
        )
    assert git_server.requests_served == 0


def test_prefetched_files_are_read_without_a_round_trip(git_server: GitHttpBackendServer, author: Author):
    remote = GitRemote(git_server.url_for(REPO))
    requests_during_read: list[int] = []

    def edits(snapshot: Snapshot) -> dict[str, bytes | None]:
        before = git_server.requests_served
        current = snapshot.read("envs/dev/values.yaml")
        requests_during_read.append(git_server.requests_served - before)
        assert current is not None
        return {"envs/dev/values.yaml": current + b"# touched\n"}

    remote.commit("main", edits, "Touch dev", author, prefetch=["envs/dev"])
    remote.commit("main", edits, "Touch dev again", author)

    assert requests_during_read[0] == 0
    assert requests_during_read[1] > 0
