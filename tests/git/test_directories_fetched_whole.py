"""A directory among many siblings (an application among applications) is fetched whole, down to the files on
the path, in one request instead of one per directory level; one among a few (an environment, a cluster) is
walked a level at a time, and so is any whose whole would cost more than the round trip it saves."""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from promotions.git import Author, GitRemote
from promotions_local.git_server import GitHttpBackendServer, GitServerResponse, create_bare_repository

from .conftest import HAS_GIT

pytestmark = pytest.mark.skipif(not HAS_GIT, reason="git http-backend needs the git binary")

AUTHOR = Author("Promotions", "promotions@example.invalid")
ENVIRONMENTS = ("dev", "qa", "staging", "prod")


def values(tag: str, owner: str) -> bytes:
    """A values.yaml of about 1 KiB that compresses no better than real ones, distinct per `owner`, so that no
    two directories share a tree."""
    noise = base64.b64encode(hashlib.shake_256(owner.encode()).digest(768)).decode()
    return f"image:\n  tag: {tag}\n# {owner}: {noise}\n".encode()


@contextmanager
def served(
    tmp_path: Path, files: dict[str, bytes], server_class: type[GitHttpBackendServer] = GitHttpBackendServer, **options
) -> Iterator[GitHttpBackendServer]:
    root = tmp_path / "repos"
    root.mkdir()
    create_bare_repository(root / "gitops.git", files)
    with server_class(root, **options) as server:
        yield server


def promote(remote: GitRemote, target: str, tag: str) -> None:
    outcome = remote.commit(
        "main",
        lambda tip: {target: tip.read(target).replace(b"tag: 1.0.0\n", f"tag: {tag}\n".encode())},
        f"Promote {tag}",
        AUTHOR,
        prefetch=[target],
    )
    assert outcome.commit_sha is not None


def cost(server: GitHttpBackendServer, action) -> tuple[list[str], int]:
    """The requests `action` made and the bytes it received."""
    requests, sent = len(server.request_log), server.bytes_sent
    action()
    return server.request_log[requests:], server.bytes_sent - sent


def promote_twice(
    server: GitHttpBackendServer, targets: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> list[tuple[list[str], str]]:
    """Two promotions on one remote: the requests each made and what each logged."""
    remote = GitRemote(server.url_for("gitops.git"))
    outcomes = []
    for target in targets:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="promotions.git"):
            requests, _ = cost(server, functools.partial(promote, remote, target, "2.0.0"))
        outcomes.append((requests, caplog.text))
    return outcomes


@pytest.fixture
def applications_first(tmp_path: Path) -> Iterator[GitHttpBackendServer]:
    """apps/APP/ENV/values.yaml: 40 applications, each with its four environments."""
    files = {
        f"apps/app-{app:02d}/{environment}/values.yaml": values("1.0.0", f"app-{app:02d}/{environment}")
        for app in range(40)
        for environment in ENVIRONMENTS
    }
    with served(tmp_path, files) as server:
        yield server


def test_an_application_among_many_comes_whole_in_one_request(
    applications_first: GitHttpBackendServer, caplog: pytest.LogCaptureFixture
):
    remote = GitRemote(applications_first.url_for("gitops.git"))
    with caplog.at_level(logging.INFO, logger="promotions.git"):
        requests, received = cost(
            applications_first, lambda: promote(remote, "apps/app-07/prod/values.yaml", "2.0.0")
        )

    assert requests == [
        "POST git-upload-pack",  # ls-refs
        "POST git-upload-pack",  # the tip, its root tree and apps/
        "POST git-upload-pack",  # apps/app-07, its environments' trees and their files
        "POST git-receive-pack",
    ]
    # The application's four files, not the other applications' 156.
    assert received < 12 * 1024
    assert "with the trees on their paths, 1 directory(ies) whole" in caplog.text

    tip = remote.snapshot("main", ["apps/app-07/prod/values.yaml"])
    assert tip.read("apps/app-07/prod/values.yaml") == values("2.0.0", "app-07/prod")
    assert tip.read("apps/app-07/staging/values.yaml") == values("1.0.0", "app-07/staging")


def test_the_other_environments_of_the_application_cost_no_request(applications_first: GitHttpBackendServer):
    requests_per_read: dict[str, int] = {}

    def edits(tip):
        for path in ("apps/app-07/staging/values.yaml", "apps/app-08/staging/values.yaml"):
            before = applications_first.requests_served
            assert tip.read(path) == values("1.0.0", path.removeprefix("apps/").removesuffix("/values.yaml"))
            requests_per_read[path] = applications_first.requests_served - before
        return {"apps/app-07/prod/values.yaml": tip.read("apps/app-07/staging/values.yaml")}

    GitRemote(applications_first.url_for("gitops.git")).commit(
        "main", edits, "Promote", AUTHOR, prefetch=["apps/app-07/prod/values.yaml"]
    )

    # Another application's file costs a request per directory level below apps/, and one for the file.
    assert requests_per_read == {"apps/app-07/staging/values.yaml": 0, "apps/app-08/staging/values.yaml": 3}


def test_a_promotion_reads_its_source_environment_and_commits_in_six_requests(
    applications_first: GitHttpBackendServer,
):
    """As a release promotes staging to prod: the source environment's directory is read whole, then the
    target file committed on the same remote, which takes the application's directory from memory."""
    remote = GitRemote(applications_first.url_for("gitops.git"))
    source: dict[str, bytes | None] = {}

    def read_source() -> None:
        snapshot = remote.snapshot("main", ["apps/app-07/staging"])
        source["values"] = snapshot.read("apps/app-07/staging/values.yaml")

    read_requests, _ = cost(applications_first, read_source)
    commit_requests, _ = cost(applications_first, lambda: promote(remote, "apps/app-07/prod/values.yaml", "2.0.0"))

    assert source["values"] == values("1.0.0", "app-07/staging")
    assert read_requests == [
        "POST git-upload-pack",  # ls-refs
        "POST git-upload-pack",  # the tip, its root tree and apps/
        "POST git-upload-pack",  # apps/app-07, its environments' trees and their files
    ]
    assert commit_requests == [
        "POST git-upload-pack",  # ls-refs
        "POST git-upload-pack",  # the tip, its root tree and apps/
        "POST git-receive-pack",
    ]


def test_an_environment_among_a_few_is_walked_a_level_at_a_time(tmp_path: Path):
    """envs/ENV/APP/values.yaml: an environment holds every application, so only the trees on the path and
    the files of the application's own directory are fetched."""
    files = {
        f"envs/{environment}/app-{app:02d}/values.yaml": values("1.0.0", f"{environment}/app-{app:02d}")
        for app in range(40)
        for environment in ENVIRONMENTS
    }
    with served(tmp_path, files) as server:
        remote = GitRemote(server.url_for("gitops.git"))
        requests, received = cost(server, lambda: promote(remote, "envs/prod/app-07/values.yaml", "2.0.0"))

    assert requests == [
        "POST git-upload-pack",  # ls-refs
        "POST git-upload-pack",  # the tip, its root tree and envs/
        "POST git-upload-pack",  # envs/prod
        "POST git-upload-pack",  # envs/prod/app-07 with its file
        "POST git-receive-pack",
    ]
    # Not the 40 applications' files of envs/prod.
    assert received < 12 * 1024


def test_a_directory_too_big_to_fetch_whole_is_given_up_and_not_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """tenants/TENANT/APP/values.yaml: ten tenants, each with more applications than the fetch may bring."""
    files = {
        f"tenants/tenant-{tenant}/app-{app:03d}/values.yaml": values("1.0.0", f"tenant-{tenant}/app-{app:03d}")
        for tenant in range(10)
        for app in range(120)
    }
    target = "tenants/tenant-3/app-007/values.yaml"
    with served(tmp_path, files) as server:
        (first_requests, first_log), (second_requests, second_log) = promote_twice(
            server, (target, "tenants/tenant-4/app-007/values.yaml"), caplog
        )
        tip = GitRemote(server.url_for("gitops.git")).snapshot("main", [target])
        assert tip.read(target) == values("2.0.0", "tenant-3/app-007")

    assert "directories fetched whole went over 64 KiB each" in first_log
    assert "fetched whole" not in second_log
    # The given-up fetch, then a level at a time: tenants/tenant-3, then the application with its file.
    assert len(first_requests) == 6
    assert second_requests == [
        "POST git-upload-pack",
        "POST git-upload-pack",
        "POST git-upload-pack",
        "POST git-upload-pack",
        "POST git-receive-pack",
    ]


def test_a_host_capping_tree_depth_below_the_path_is_walked_a_level_at_a_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """apps/APP/overlays/ENV/ needs filter tree:3 from the application's directory; a host allowing tree:2 at
    most refuses it once, and the remote does not ask again."""
    files = {
        f"apps/app-{app:02d}/overlays/{environment}/kustomization.yaml": values("1.0.0", f"{app}/{environment}")
        for app in range(10)
        for environment in ENVIRONMENTS
    }
    with served(tmp_path, files, config={"uploadpackfilter.tree.maxDepth": "2"}) as server:
        (first_requests, first_log), (second_requests, second_log) = promote_twice(
            server,
            ("apps/app-03/overlays/prod/kustomization.yaml", "apps/app-04/overlays/prod/kustomization.yaml"),
            caplog,
        )

    assert "filter tree:3 refused" in first_log
    assert "refused" not in second_log
    # ls-refs, the tip, the refused fetch, then apps/app-03, overlays/ and prod/ with its file, and the push.
    assert len(first_requests) == 7
    assert len(second_requests) == 6


class _DropsTheFirstDirectoryFetch(GitHttpBackendServer):
    """Answers the first fetch of a directory whole (filter tree:2 without deepen, which the tip's has) with an
    empty body, as a connection dropped midway would end it."""

    dropped = False

    def respond(self, request) -> GitServerResponse:
        if not self.dropped and b"filter tree:2" in request.body and b"deepen" not in request.body:
            self.dropped = True
            return GitServerResponse(200, [("Content-Type", "application/x-git-upload-pack-result")], b"")
        return super().respond(request)


def test_a_directory_fetch_cut_short_costs_only_that_shortcut(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """Taken for a refusal, it is not held against the tip's filter: later promotions still fetch the top
    level with the tip, and walk the path a level at a time."""
    files = {
        f"apps/app-{app:02d}/{environment}/values.yaml": values("1.0.0", f"app-{app:02d}/{environment}")
        for app in range(10)
        for environment in ENVIRONMENTS
    }
    with served(tmp_path, files, _DropsTheFirstDirectoryFetch) as server:
        (first_requests, first_log), (second_requests, second_log) = promote_twice(
            server, ("apps/app-03/prod/values.yaml", "apps/app-04/prod/values.yaml"), caplog
        )
        assert isinstance(server, _DropsTheFirstDirectoryFetch) and server.dropped

    assert "filter tree:2 refused" in first_log
    assert len(first_requests) == 6  # the cut fetch, then apps/app-03 and its prod/ a level at a time
    assert "partial clone (filter tree:2)" in second_log
    assert "with only the trees on their paths" in second_log
    assert len(second_requests) == 5


class _RecordingServer(GitHttpBackendServer):
    """Keeps the body of every upload-pack response."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.upload_pack_bodies: list[bytes] = []

    def respond(self, request) -> GitServerResponse:
        response = super().respond(request)
        if request.path.endswith("/git-upload-pack"):
            self.upload_pack_bodies.append(response.body)
        return response


@pytest.mark.parametrize("protocol_v2", [True, False], ids=["protocol v2", "protocol v0"])
def test_fetches_ask_for_no_progress_messages(tmp_path: Path, protocol_v2: bool):
    """git sends "Enumerating objects", "Counting objects" and the like unless asked not to; nobody reads them
    here."""
    files = {f"apps/app-{app:02d}/prod/values.yaml": values("1.0.0", f"app-{app:02d}") for app in range(10)}
    with served(tmp_path, files, _RecordingServer, protocol_v2=protocol_v2) as server:
        promote(GitRemote(server.url_for("gitops.git")), "apps/app-03/prod/values.yaml", "2.0.0")

    assert isinstance(server, _RecordingServer)
    packs = [body for body in server.upload_pack_bodies if b"PACK" in body]
    assert packs
    for body in packs:
        assert b"Enumerating objects" not in body and b"Counting objects" not in body
