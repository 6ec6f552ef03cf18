"""Commit statuses, checked the same way against the GitHub, GitLab and Bitbucket fakes: read for the
commitStatus check, set to report a release on its commits."""

from __future__ import annotations

import secrets

import pytest

from promotions.gitproviders import (
    CommitState,
    CommitStatus,
    CommitStatusUpdate,
    GitProviderAuthError,
    GitProviderNotFound,
    StatusKind,
)
from promotions.http import HttpTransientError

STATUSES = frozenset({StatusKind.STATUS})
EVERY_KIND = frozenset(StatusKind)


@pytest.fixture
def sha() -> str:
    return secrets.token_hex(20)


def update(state: CommitState, description: str = "Promoting api 1.2.3 to prod") -> CommitStatusUpdate:
    return CommitStatusUpdate(
        name="promotions/prod",
        state=state,
        description=description,
        url="https://promotions.example/releases/r-1",
    )


def test_a_status_set_is_read_back_and_setting_its_name_again_replaces_it(hosted, sha):
    provider = hosted.provider()

    provider.set_commit_status(hosted.repo_url, sha, update(CommitState.PENDING))
    pending = provider.commit_statuses(hosted.repo_url, sha, STATUSES)
    provider.set_commit_status(hosted.repo_url, sha, update(CommitState.SUCCESS, "Promoted api 1.2.3"))
    succeeded = provider.commit_statuses(hosted.repo_url, sha, EVERY_KIND)

    assert [(status.kind, status.name, status.state) for status in pending] == [
        (StatusKind.STATUS, "promotions/prod", CommitState.PENDING)
    ]
    assert pending[0].detail.endswith(": Promoting api 1.2.3 to prod")
    assert [(status.name, status.state) for status in succeeded] == [("promotions/prod", CommitState.SUCCESS)]
    assert succeeded[0].detail.endswith(": Promoted api 1.2.3")


@pytest.mark.parametrize("state", list(CommitState))
def test_setting_the_same_status_twice_is_harmless(hosted, sha, state):
    """A retried task sets its status again; GitLab refuses to move a running status to running."""
    provider = hosted.provider()

    provider.set_commit_status(hosted.repo_url, sha, update(state))
    provider.set_commit_status(hosted.repo_url, sha, update(state))

    assert [
        (status.name, status.state) for status in provider.commit_statuses(hosted.repo_url, sha, STATUSES)
    ] == [("promotions/prod", state)]


def test_each_state_ci_reports_in_the_hosts_words_is_read_as_pending_success_or_failure(hosted, sha):
    expected = {}
    for state, words in hosted.words.items():
        for word in words:
            hosted.report(sha, f"ci/{word}", word, "tests")
            expected[f"ci/{word}"] = CommitStatus(
                kind=StatusKind.STATUS, name=f"ci/{word}", state=state, detail=f"{word}: tests"
            )

    read = hosted.provider().commit_statuses(hosted.repo_url, sha, STATUSES)

    assert {status.name: status for status in read} == expected


def test_the_latest_report_of_a_name_is_the_one_read(hosted, sha):
    failure, success = hosted.words[CommitState.FAILURE][0], hosted.words[CommitState.SUCCESS][0]
    hosted.report(sha, "build", failure, "first attempt")
    hosted.report(sha, "build", success, None)

    read = hosted.provider().commit_statuses(hosted.repo_url, sha, STATUSES)

    assert read == [
        CommitStatus(
            kind=StatusKind.STATUS,
            name="build",
            state=CommitState.SUCCESS,
            detail=f"{success}: no description",
        )
    ]


def test_statuses_beyond_one_page_are_all_read(hosted, sha):
    names = [f"job-{index:03}" for index in range(130)]
    for name in names:
        hosted.report(sha, name, hosted.words[CommitState.SUCCESS][0], None)

    read = hosted.provider().commit_statuses(hosted.repo_url, sha, STATUSES)

    assert sorted(status.name for status in read) == names
    assert len([request for request in hosted.fake.requests if request.method == "GET"]) == 2


def test_only_the_kinds_asked_for_that_the_host_has_are_read(hosted, sha):
    provider = hosted.provider()

    assert provider.commit_statuses(hosted.repo_url, sha, frozenset({StatusKind.CHECK_RUN})) == []

    asked = [request.path for request in hosted.fake.requests]
    has_check_runs = StatusKind.CHECK_RUN in provider.status_kinds
    assert len(asked) == has_check_runs and all(path.endswith("/check-runs") for path in asked)


def test_a_commit_without_statuses_has_none(hosted, sha):
    assert hosted.provider().commit_statuses(hosted.repo_url, sha, EVERY_KIND) == []


def test_wrong_token_is_an_auth_error_that_hides_the_token(hosted, sha):
    provider = hosted.provider(token="wrong-token-value")

    for call in (
        lambda: provider.set_commit_status(hosted.repo_url, sha, update(CommitState.PENDING)),
        lambda: provider.commit_statuses(hosted.repo_url, sha, EVERY_KIND),
    ):
        with pytest.raises(GitProviderAuthError, match="HTTP 401") as caught:
            call()
        assert "wrong-token-value" not in str(caught.value) and hosted.token not in str(caught.value)


def test_unknown_repository_is_not_found_and_named(hosted, sha):
    other = hosted.repo_url.replace("gitops", "elsewhere")
    provider = hosted.provider()

    with pytest.raises(GitProviderNotFound, match="elsewhere"):
        provider.set_commit_status(other, sha, update(CommitState.PENDING))
    with pytest.raises(GitProviderNotFound, match=f"statuses of commit {sha[:12]} in .*elsewhere"):
        provider.commit_statuses(other, sha, STATUSES)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_outages_and_rate_limits_are_transient_and_the_retry_succeeds(hosted, sha, status):
    provider = hosted.provider()
    hosted.fake.fail_next(status)

    with pytest.raises(
        HttpTransientError, match=rf"^{provider.name} setting status promotions/prod .*{status}"
    ):
        provider.set_commit_status(hosted.repo_url, sha, update(CommitState.FAILURE))
    provider.set_commit_status(hosted.repo_url, sha, update(CommitState.FAILURE))

    assert [status.state for status in provider.commit_statuses(hosted.repo_url, sha, STATUSES)] == [
        CommitState.FAILURE
    ]
