"""What a one-file promotion costs on the wire: round trips and bytes that do not grow with the repository."""

from __future__ import annotations

import pytest

from promotions.git import Author, GitRemote
from promotions_local.git_server import GitHttpBackendServer, create_bare_repository

AUTHOR = Author("Promotions", "promotions@example.invalid")
TARGET = "apps/app-0001/prod/values.yaml"


def gitops_files(applications: int) -> dict[str, bytes]:
    return {
        # about 1 KiB each, like a real values.yaml
        f"apps/app-{number:04d}/{environment}/values.yaml": f"image:\n  tag: 1.0.{number}\n".encode()
        + b"#" * 1000
        + b"\n"
        for number in range(applications)
        for environment in ("dev", "qa", "staging", "prod")
    }


def promote_one_file(tmp_path, applications: int) -> tuple[int, int]:
    root = tmp_path / f"repos-{applications}"
    root.mkdir()
    create_bare_repository(root / "gitops.git", gitops_files(applications))
    with GitHttpBackendServer(root) as server:
        remote = GitRemote(server.url_for("gitops.git"))
        requests, sent = server.requests_served, server.bytes_sent
        outcome = remote.commit(
            "main",
            lambda tip: {TARGET: tip.read(TARGET).replace(b"1.0.1\n", b"2.0.0\n")},
            "Promote",
            AUTHOR,
            prefetch=[TARGET],
        )
        cost = server.requests_served - requests, server.bytes_sent - sent
        assert outcome.commit_sha is not None
        assert (
            GitRemote(server.url_for("gitops.git"))
            .snapshot("main")
            .read(TARGET)
            .startswith(b"image:\n  tag: 2.0.0\n")
        )
        return cost


@pytest.mark.parametrize("applications", [25, 500])
def test_a_one_file_promotion_takes_at_most_ten_round_trips(tmp_path, applications):
    requests, _ = promote_one_file(tmp_path, applications)
    assert requests <= 10


def test_bytes_received_grow_only_with_the_trees_on_the_edited_path(tmp_path):
    """Twenty times the files costs only the longer apps/ listing (one entry per application, ~40 bytes)."""
    _, small = promote_one_file(tmp_path, 25)
    _, large = promote_one_file(tmp_path, 500)
    all_files_in_large = sum(len(content) for content in gitops_files(500).values())
    assert large - small < (500 - 25) * 60
    assert large < all_files_in_large / 50


def read_one_directory(tmp_path, applications: int) -> tuple[int, int]:
    """What reading an application's directory costs, as a promotion reads the environment it promotes from."""
    root = tmp_path / f"read-{applications}"
    root.mkdir()
    sha = create_bare_repository(root / "gitops.git", gitops_files(applications))
    with GitHttpBackendServer(root) as server:
        requests, sent = server.requests_served, server.bytes_sent
        snapshot = GitRemote(server.url_for("gitops.git")).snapshot(sha, ["apps/app-0001/staging"])
        assert snapshot.list_files("apps/app-0001/staging") == ["apps/app-0001/staging/values.yaml"]
        assert snapshot.read("apps/app-0001/staging/values.yaml").startswith(b"image:\n  tag: 1.0.1\n")
        return server.requests_served - requests, server.bytes_sent - sent


def test_reading_a_directory_costs_the_trees_on_its_path_not_the_repository(tmp_path):
    small_requests, small = read_one_directory(tmp_path, 25)
    large_requests, large = read_one_directory(tmp_path, 500)
    # ls-refs, the tip with its top-level trees, the application's directory with everything under it
    assert small_requests == large_requests == 3
    assert large - small < (500 - 25) * 60


def test_a_retry_after_a_lost_race_fetches_only_what_the_winner_changed(tmp_path):
    """Another application promoted first: the retry needs the new tip and its top-level trees, not again the
    trees and files on the edited path, which the winner left as they were."""
    root = tmp_path / "race"
    root.mkdir()
    create_bare_repository(root / "gitops.git", gitops_files(25))
    other = "apps/app-0002/prod/values.yaml"
    with GitHttpBackendServer(root) as server:
        url = server.url_for("gitops.git")
        attempts_log: list[int] = []

        def bump_target_after_another_writer_wins(tip):
            if not attempts_log:
                GitRemote(url).commit(
                    "main",
                    lambda winner_tip: {other: winner_tip.read(other).replace(b"1.0.2\n", b"9.9.9\n")},
                    "Promote another application",
                    AUTHOR,
                    prefetch=[other],
                )
            attempts_log.append(server.requests_served)
            return {TARGET: tip.read(TARGET).replace(b"1.0.1\n", b"2.0.0\n")}

        start = server.requests_served
        outcome = GitRemote(url).commit(
            "main", bump_target_after_another_writer_wins, "Promote", AUTHOR, prefetch=[TARGET]
        )
        assert outcome.attempts == 2
        first_attempt_reads = attempts_log[0] - start - 4  # the winner's own promotion took four
        between_attempts = attempts_log[1] - attempts_log[0]
        # ls-refs, the tip with its top-level trees, apps/app-0001 with its directories and their files
        assert first_attempt_reads == 3
        # The losing push, the ls-refs telling a moved branch from a refusal, the tip it found (by id) with its
        # top-level trees. apps/app-0001 and its files are as they were: not fetched again.
        assert between_attempts == 3
        tip = GitRemote(url).snapshot("main")
        assert tip.read(TARGET).startswith(b"image:\n  tag: 2.0.0\n")
        assert tip.read(other).startswith(b"image:\n  tag: 9.9.9\n")
