"""GitRemote.commit(push_to=...): edits built on one branch's tip, pushed to another branch (a pull
request's), which is created, reused or replaced but never stacked on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from dulwich.repo import Repo

import promotions.git.push as push_module
from promotions.git import Author, GitRemote, Snapshot
from promotions.git.push import Pusher
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer

REPO = "app.git"
PR_BRANCH = "promotions/release-1/prod"


def bump_prod(version: str):
    def edits(snapshot: Snapshot) -> dict[str, bytes | None]:
        current = snapshot.read("envs/prod/values.yaml")
        assert current is not None
        return {"envs/prod/values.yaml": current.replace(b"0.9.0", version.encode())}

    return edits


def branch_tip(bare_repo: Path, branch: str) -> str | None:
    with Repo(str(bare_repo)) as repo:
        sha = repo.refs.as_dict(b"refs/heads").get(branch.encode())
        return sha.decode() if sha else None


def test_the_commit_lands_on_a_new_branch_off_the_tip_and_the_base_branch_stays(
    remote: GitRemote, author: Author, branch_history, bare_repo: Path
):
    main_before = branch_history()[0].id.decode()

    outcome = remote.commit("main", bump_prod("1.0.0"), "Promote 1.0.0 to prod", author, push_to=PR_BRANCH)

    [pushed, parent, *_] = branch_history(PR_BRANCH)
    assert outcome.commit_sha == pushed.id.decode()
    assert outcome.base_sha == main_before == parent.id.decode()
    assert outcome.changed_paths == ("envs/prod/values.yaml",)
    assert pushed.message == b"Promote 1.0.0 to prod\n"
    assert branch_tip(bare_repo, "main") == main_before
    assert remote.snapshot(PR_BRANCH).read("envs/prod/values.yaml") == b"image: app:1.0.0\nreplicas: 3\n"
    assert remote.snapshot("main").read("envs/prod/values.yaml") == b"image: app:0.9.0\nreplicas: 3\n"


def test_a_repeated_call_reuses_the_branch_that_already_holds_the_edits(
    remote: GitRemote, author: Author, branch_history, monkeypatch: pytest.MonkeyPatch
):
    first = remote.commit("main", bump_prod("1.0.0"), "Promote 1.0.0", author, push_to=PR_BRANCH)
    pushes: list[bytes] = []
    real_push = Pusher.push

    def counted_push(self, ref, *args):
        pushes.append(ref)
        return real_push(self, ref, *args)

    monkeypatch.setattr(Pusher, "push", counted_push)

    again = remote.commit("main", bump_prod("1.0.0"), "Promote 1.0.0, retried", author, push_to=PR_BRANCH)

    assert pushes == []
    assert again.commit_sha == first.commit_sha
    assert again.changed_paths == first.changed_paths
    assert [commit.id.decode() for commit in branch_history(PR_BRANCH)[:1]] == [first.commit_sha]


def test_when_the_base_branch_moved_the_branch_is_replaced_by_one_commit_on_the_new_tip(
    remote: GitRemote, author: Author, branch_history, add_commits
):
    first = remote.commit("main", bump_prod("1.0.0"), "Promote 1.0.0", author, push_to=PR_BRANCH)
    [new_main] = add_commits(1)

    again = remote.commit("main", bump_prod("1.0.0"), "Promote 1.0.0", author, push_to=PR_BRANCH)

    history = [commit.id.decode() for commit in branch_history(PR_BRANCH)]
    assert again.commit_sha != first.commit_sha
    assert again.base_sha == new_main
    assert history[:2] == [again.commit_sha, new_main]
    assert first.commit_sha not in history, "the earlier commit is replaced, not stacked on"


def test_nothing_to_change_creates_no_branch(remote: GitRemote, author: Author, bare_repo: Path):
    outcome = remote.commit("main", bump_prod("0.9.0"), "Nothing", author, push_to=PR_BRANCH)

    assert outcome.commit_sha is None
    assert branch_tip(bare_repo, PR_BRANCH) is None


def test_a_branch_created_by_another_writer_meanwhile_is_compared_and_swapped_not_blindly_overwritten(
    server: GitHttpBackendServer | GuardedDulwichServer,
    author: Author,
    branch_history,
    monkeypatch: pytest.MonkeyPatch,
):
    """The other writer creates the branch after we saw it absent but before our pack arrives: the creation
    fails on the server, and the next attempt sees the branch and replaces it on purpose."""
    url = server.url_for(REPO)
    other: list[str] = []
    interfered = threading.Event()
    real_pack = push_module.pack_objects_to_data

    def pack_after_another_push(objects):
        if not interfered.is_set():
            interfered.set()
            outcome = GitRemote(url).commit("main", bump_prod("7.7.7"), "Other", author, push_to=PR_BRANCH)
            other.append(outcome.commit_sha)
        return real_pack(objects)

    monkeypatch.setattr(push_module, "pack_objects_to_data", pack_after_another_push)

    outcome = GitRemote(url).commit("main", bump_prod("1.0.0"), "Ours", author, push_to=PR_BRANCH)

    history = branch_history(PR_BRANCH)
    assert other and other[0] is not None
    assert outcome.attempts == 2
    assert history[0].id.decode() == outcome.commit_sha
    assert history[1].id.decode() == outcome.base_sha
    ours = GitRemote(url).snapshot(PR_BRANCH).read("envs/prod/values.yaml")
    assert ours == b"image: app:1.0.0\nreplicas: 3\n"


@pytest.mark.parametrize("server", ["git-http-backend"], indirect=True)
@pytest.mark.parametrize(
    ("push_to", "message"),
    [("main", "another branch than 'main'"), ("refs/heads/main", "another branch than 'main'"),
     ("bad..name", "invalid branch name"), ("refs/tags/v1", "commits go to branches")],
)
def test_push_to_must_be_another_valid_branch(remote: GitRemote, author: Author, push_to: str, message: str):
    with pytest.raises(ValueError, match=message):
        remote.commit("main", bump_prod("1.0.0"), "Promote", author, push_to=push_to)
