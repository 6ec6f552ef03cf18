"""How a commit fetches from hosts that allow fewer partial-clone filters, or speak only protocol v0: each
takes its own path, says so in the log, and a remote that learnt what its host refuses does not ask again."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from promotions.git import Author, GitRemote
from promotions_local.git_server import GitHttpBackendServer, GitServerResponse, create_bare_repository

from .conftest import HAS_GIT, REPO_NAME

pytestmark = pytest.mark.skipif(not HAS_GIT, reason="git http-backend needs the git binary")

AUTHOR = Author("Promotions", "promotions@example.invalid")
TARGET = "envs/prod/values.yaml"

# host -> (server options, what the first commit logs, in order, and the fetch path that ran)
HOSTS = {
    "tree depth capped at 0": (
        {"config": {"uploadpackfilter.tree.maxDepth": "0"}},
        [
            "filter tree:2 refused",
            "filter tree:1 refused",
            "partial clone (filter tree:0)",
        ],
    ),
    "no tree filters": (
        {"config": {"uploadpackfilter.tree.allow": "false"}},
        [
            "filter tree:2 refused",
            "filter tree:1 refused",
            "filter tree:0 refused",
            "partial clone (filter blob:none)",
        ],
    ),
    "no filters": (
        {"allow_filter": False},
        [
            "filter tree:2 refused on presumed capabilities",
            "the server ignores partial-clone filters",
        ],
    ),
    "protocol v0 only": (
        {"protocol_v2": False},
        ["does not take protocol v2 requests", "the server ignores partial-clone filters"],
    ),
}


def bump(tag: str, *, from_tag: str = "0.9.0"):
    def edits(tip):
        return {TARGET: tip.read(TARGET).replace(f"app:{from_tag}".encode(), f"app:{tag}".encode())}

    return edits


def in_order(text: str, fragments: list[str]) -> bool:
    position = 0
    for fragment in fragments:
        position = text.find(fragment, position)
        if position < 0:
            return False
    return True


@pytest.mark.parametrize("host", list(HOSTS))
def test_each_host_gets_a_fetch_it_serves_and_its_refusals_are_not_asked_again(
    host: str, repo_root: Path, caplog: pytest.LogCaptureFixture
):
    options, expected_log = HOSTS[host]
    with GitHttpBackendServer(repo_root, **options) as server:
        remote = GitRemote(server.url_for(REPO_NAME))
        with caplog.at_level(logging.INFO, logger="promotions.git"):
            first = remote.commit("main", bump("1.0.0"), "Promote 1.0.0", AUTHOR, prefetch=[TARGET])
        assert in_order(caplog.text, expected_log), caplog.text
        caplog.clear()

        with caplog.at_level(logging.INFO, logger="promotions.git"):
            second = remote.commit(
                "main", bump("1.1.0", from_tag="1.0.0"), "Promote 1.1.0", AUTHOR, prefetch=[TARGET]
            )
        assert "refused" not in caplog.text
        assert "does not take protocol v2 requests" not in caplog.text

        assert first.commit_sha and second.commit_sha
        landed = GitRemote(server.url_for(REPO_NAME)).snapshot(second.commit_sha)
        assert landed.read(TARGET) == b"image: app:1.1.0\nreplicas: 3\n"
        assert landed.read("envs/prod/extra/config.yaml") == b"feature: off\n"


def test_a_commit_asks_for_no_advertisement_and_fetches_a_directory_level_per_round_trip(
    git_server: GitHttpBackendServer,
):
    """On a host that takes protocol v2 and filters: ls-refs, the tip with its root tree and the top-level
    directories, one request per deeper directory on the path (the file's own one with its files), and the
    push, which carries the tip it was built on as the old value instead of asking for the refs first."""
    remote = GitRemote(git_server.url_for(REPO_NAME))
    remote.commit("main", bump("1.0.0"), "Promote", AUTHOR, prefetch=[TARGET])

    levels_below_the_top = TARGET.count("/") - 1
    assert git_server.request_log == [
        "POST git-upload-pack",  # ls-refs
        "POST git-upload-pack",  # the tip, its root tree and the top-level trees
        *["POST git-upload-pack"] * levels_below_the_top,
        "POST git-receive-pack",
    ]


def test_the_files_of_the_edited_directory_come_with_it(tmp_path: Path):
    """Its other files cost no round trip when read; files elsewhere still do."""
    create_bare_repository(
        tmp_path / REPO_NAME,
        {
            TARGET: b"image: app:0.9.0\n",
            "envs/prod/kustomization.yaml": b"resources: []\n",
            "envs/dev/values.yaml": b"image: app:1.0.0\n",
        },
    )
    requests_per_read: dict[str, int] = {}
    with GitHttpBackendServer(tmp_path) as server:

        def edits(tip):
            for path in ("envs/prod/kustomization.yaml", "envs/dev/values.yaml"):
                before = server.requests_served
                assert tip.read(path)
                requests_per_read[path] = server.requests_served - before
            return bump("1.0.0")(tip)

        GitRemote(server.url_for(REPO_NAME)).commit("main", edits, "Promote", AUTHOR, prefetch=[TARGET])

    assert requests_per_read == {"envs/prod/kustomization.yaml": 0, "envs/dev/values.yaml": 2}


class _AdvertisementFirstServer(GitHttpBackendServer):
    """A host that answers 400 to a push not preceded by a GET of its ref advertisement."""

    def respond(self, request):
        if request.method == "POST" and request.path.endswith("/git-receive-pack"):
            asked = self.request_log[-2:-1] == ["GET refs?service=git-receive-pack"]
            if not asked:
                return GitServerResponse(400, [("Content-Type", "text/plain")], b"advertisement first\n")
        return super().respond(request)


def test_a_host_that_wants_its_ref_advertisement_before_a_push_gets_it(
    repo_root: Path, caplog: pytest.LogCaptureFixture
):
    with _AdvertisementFirstServer(repo_root) as server:
        remote = GitRemote(server.url_for(REPO_NAME))
        with caplog.at_level(logging.INFO, logger="promotions.git"):
            first = remote.commit("main", bump("1.0.0"), "Promote 1.0.0", AUTHOR, prefetch=[TARGET])
        assert "a push without the ref advertisement was refused" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="promotions.git"):
            second = remote.commit(
                "main", bump("1.1.0", from_tag="1.0.0"), "Promote 1.1.0", AUTHOR, prefetch=[TARGET]
            )
        assert "refused" not in caplog.text
        assert server.request_log[-2:] == ["GET refs?service=git-receive-pack", "POST git-receive-pack"]

    assert first.commit_sha and second.commit_sha and first.attempts == second.attempts == 1
