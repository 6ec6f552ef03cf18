"""What the `pr` action relies on, checked the same way against GitHub, GitLab and Bitbucket fakes."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from promotions.gitproviders import (
    GitProviderAuthError,
    GitProviderNotFound,
    PullRequestStatus,
)
from promotions.http import HttpTransientError

SOURCE, TARGET = "promotions/prod/abc1234", "main"
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def test_open_then_find_open_reuses_it(hosted):
    provider = hosted.provider()
    assert provider.find_open(hosted.repo_url, SOURCE, TARGET) is None

    opened = provider.open(hosted.repo_url, SOURCE, TARGET, "Promote api 1.2.3 to prod", "Release r-1")

    assert opened.number == 1
    assert opened.url.startswith(hosted.fake.url)
    assert provider.find_open(hosted.repo_url, SOURCE, TARGET) == opened
    assert provider.find_open(hosted.repo_url, SOURCE, "release") is None
    assert provider.find_open(hosted.repo_url, "promotions/staging/abc1234", TARGET) is None
    assert [request.method for request in hosted.fake.requests].count("POST") == 1


def test_open_pull_request_has_no_merge_commit(hosted):
    provider = hosted.provider()
    opened = provider.open(hosted.repo_url, SOURCE, TARGET, "title", "body")

    state = provider.state(hosted.repo_url, opened.number)

    assert (state.number, state.status, state.merge_commit_sha, state.url) == (
        opened.number,
        PullRequestStatus.OPEN,
        None,
        opened.url,
    )


def test_merged_pull_request_reports_the_full_merge_commit(hosted):
    provider = hosted.provider()
    opened = provider.open(hosted.repo_url, SOURCE, TARGET, "title", "body")
    merge_commit = hosted.merge(opened.number)

    state = provider.state(hosted.repo_url, opened.number)

    assert state.status is PullRequestStatus.MERGED
    assert state.merge_commit_sha == merge_commit
    assert FULL_SHA.match(state.merge_commit_sha)
    assert provider.find_open(hosted.repo_url, SOURCE, TARGET) is None


def test_closed_without_merge(hosted):
    provider = hosted.provider()
    opened = provider.open(hosted.repo_url, SOURCE, TARGET, "title", "body")
    hosted.close(opened.number)

    state = provider.state(hosted.repo_url, opened.number)

    assert (state.status, state.merge_commit_sha) == (PullRequestStatus.CLOSED, None)
    assert provider.find_open(hosted.repo_url, SOURCE, TARGET) is None


def test_a_new_pull_request_after_a_closed_one_gets_a_new_number(hosted):
    provider = hosted.provider()
    first = provider.open(hosted.repo_url, SOURCE, TARGET, "title", "body")
    hosted.close(first.number)

    second = provider.open(hosted.repo_url, SOURCE, TARGET, "title", "body")

    assert second.number == first.number + 1
    assert provider.find_open(hosted.repo_url, SOURCE, TARGET) == second


def test_wrong_token_is_an_auth_error_that_hides_the_token(hosted):
    provider = hosted.provider(token="wrong-token-value")

    for call in (
        lambda: provider.open(hosted.repo_url, SOURCE, TARGET, "title", "body"),
        lambda: provider.state(hosted.repo_url, 1),
        lambda: provider.find_open(hosted.repo_url, SOURCE, TARGET),
    ):
        with pytest.raises(GitProviderAuthError, match="HTTP 401") as caught:
            call()
        assert "wrong-token-value" not in str(caught.value) and hosted.token not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient_and_the_retry_succeeds(hosted, status):
    provider = hosted.provider()
    hosted.fake.fail_next(status)

    with pytest.raises(HttpTransientError, match=f"HTTP {status}"):
        provider.open(hosted.repo_url, SOURCE, TARGET, "title", "body")
    assert provider.open(hosted.repo_url, SOURCE, TARGET, "title", "body").number == 1


def test_429_is_transient(hosted):
    hosted.fake.fail_next(429, headers={"Retry-After": "30"})

    with pytest.raises(HttpTransientError, match="rate limited"):
        hosted.provider().find_open(hosted.repo_url, SOURCE, TARGET)


def test_unknown_pull_request_is_not_found(hosted):
    with pytest.raises(GitProviderNotFound, match=r"#41|!41"):
        hosted.provider().state(hosted.repo_url, 41)


def test_unknown_repository_is_not_found(hosted):
    other = hosted.repo_url.replace("gitops", "elsewhere")

    with pytest.raises(GitProviderNotFound, match="elsewhere"):
        hosted.provider().open(other, SOURCE, TARGET, "title", "body")


def test_concurrent_opens_on_different_branches_get_distinct_numbers(hosted):
    provider = hosted.provider()
    branches = [f"promotions/env-{index}/abc1234" for index in range(8)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        opened = list(
            pool.map(lambda branch: provider.open(hosted.repo_url, branch, TARGET, "t", "b"), branches)
        )

    assert sorted(pull.number for pull in opened) == list(range(1, 9))
    for branch, pull in zip(branches, opened, strict=True):
        assert provider.find_open(hosted.repo_url, branch, TARGET) == pull
