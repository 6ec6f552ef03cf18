"""What each provider's REST API asks for and answers with, beyond the shared contract."""

from __future__ import annotations

import base64

import pytest

from promotions.git.credentials import GitCredentials
from promotions.gitproviders import (
    CommitState,
    CommitStatus,
    CommitStatusUpdate,
    GitProviderAuthError,
    GitProviderConfigError,
    GitProviderError,
    GitProviderNotFound,
    GitProviderRejected,
    PullRequestStatus,
    StatusKind,
    provider_for,
)
from promotions.gitproviders.apis import ProviderChoice, PullRequestApis
from promotions.http import HttpClient, HttpTransientError
from promotions_local.fakes import FakeBitbucket, FakeGitHub

SOURCE, TARGET = "promotions/prod/abc1234", "main"

# --- GitHub ------------------------------------------------------------------------------------------------


def test_github_request_shapes(github):
    provider = github.provider()
    provider.open(github.repo_url, SOURCE, TARGET, "Promote api", "Release r-1")
    provider.find_open(github.repo_url, SOURCE, TARGET)

    create, listing = github.fake.requests
    assert (create.method, create.path) == ("POST", "/repos/acme/gitops/pulls")
    assert create.body == {"title": "Promote api", "body": "Release r-1", "head": SOURCE, "base": TARGET}
    assert create.headers["authorization"] == f"Bearer {github.token}"
    assert create.headers["x-github-api-version"] == "2022-11-28"
    assert create.headers["accept"] == "application/vnd.github+json"
    assert (listing.method, listing.path) == ("GET", "/repos/acme/gitops/pulls")
    assert {name: listing.param(name) for name in ("state", "head", "base")} == {
        "state": "open",
        "head": f"acme:{SOURCE}",
        "base": TARGET,
    }


def test_github_duplicate_pull_request_is_rejected_with_githubs_reason(github):
    provider = github.provider()
    provider.open(github.repo_url, SOURCE, TARGET, "title", "body")

    with pytest.raises(
        GitProviderRejected,
        match=f"HTTP 422: Validation Failed: A pull request already exists for acme:{SOURCE}",
    ):
        provider.open(github.repo_url, SOURCE, TARGET, "title", "body")


def test_github_missing_field_names_it(github):
    with pytest.raises(GitProviderRejected, match="PullRequest head missing_field"):
        github.provider().open(github.repo_url, "", TARGET, "title", "body")


def test_github_enterprise_server_under_api_v3(github_pull_shape):
    with FakeGitHub(
        token="ghe-token",
        pull_request_shape=github_pull_shape,
        repositories=["acme/gitops"],
        path_prefix="/api/v3",
    ) as fake:
        provider = provider_for(
            "https://ghe.example.com/acme/gitops.git",
            provider="github",
            api_url=f"{fake.url}/api/v3",
            token="ghe-token",
            http=HttpClient(),
        )
        opened = provider.open("https://ghe.example.com/acme/gitops.git", SOURCE, TARGET, "title", "body")
        number = opened.number
        fake.merge("acme/gitops", number, merge_commit_sha="c" * 40)

        state = provider.state("https://ghe.example.com/acme/gitops.git", number)

    assert (state.status, state.merge_commit_sha) == (PullRequestStatus.MERGED, "c" * 40)
    assert all(request.path.startswith("/api/v3/repos/acme/gitops/pulls") for request in fake.requests)


def test_github_rate_limit_403_is_transient_but_a_plain_403_is_auth(github):
    provider = github.provider()
    github.fake.fail_next(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000"})
    with pytest.raises(HttpTransientError, match="rate limited"):
        provider.state(github.repo_url, 1)

    github.fake.fail_next(403)
    with pytest.raises(GitProviderAuthError, match="HTTP 403"):
        provider.state(github.repo_url, 1)


def test_github_repository_url_must_be_owner_and_name(github):
    with pytest.raises(GitProviderConfigError, match="OWNER/NAME"):
        github.provider().open("https://github.com/acme/group/gitops.git", SOURCE, TARGET, "title", "body")
    assert github.fake.requests == []


# --- GitLab ------------------------------------------------------------------------------------------------


def test_gitlab_request_shapes(gitlab):
    provider = gitlab.provider()
    provider.open(gitlab.repo_url, SOURCE, TARGET, "Promote api", "Release r-1")
    provider.find_open(gitlab.repo_url, SOURCE, TARGET)

    create, listing = gitlab.fake.requests
    # The project's full path, encoded into a single path segment.
    assert (create.method, create.path) == (
        "POST",
        "/api/v4/projects/acme%2Fplatform%2Fgitops/merge_requests",
    )
    assert create.body == {
        "source_branch": SOURCE,
        "target_branch": TARGET,
        "title": "Promote api",
        "description": "Release r-1",
    }
    assert create.headers["private-token"] == gitlab.token
    assert {name: listing.param(name) for name in ("state", "source_branch", "target_branch")} == {
        "state": "opened",
        "source_branch": SOURCE,
        "target_branch": TARGET,
    }


def test_gitlab_duplicate_merge_request_is_rejected_with_gitlabs_reason(gitlab):
    provider = gitlab.provider()
    provider.open(gitlab.repo_url, SOURCE, TARGET, "title", "body")

    with pytest.raises(GitProviderRejected, match=r"HTTP 409: Another open merge request already exists.*!1"):
        provider.open(gitlab.repo_url, SOURCE, TARGET, "title", "body")


def test_gitlab_validation_error_names_the_field(gitlab):
    with pytest.raises(GitProviderRejected, match="HTTP 400: title is missing"):
        gitlab.provider().open(gitlab.repo_url, SOURCE, TARGET, "", "body")


@pytest.mark.parametrize("method", ["merge", "squash", "fast_forward"])
def test_gitlab_merge_commit_for_each_merge_method(gitlab, method):
    provider = gitlab.provider()
    opened = provider.open(gitlab.repo_url, SOURCE, TARGET, "title", "body")
    target_received = gitlab.fake.merge("acme/platform/gitops", opened.number, method=method)

    state = provider.state(gitlab.repo_url, opened.number)

    assert (state.status, state.merge_commit_sha) == (PullRequestStatus.MERGED, target_received)


# --- Bitbucket Cloud ---------------------------------------------------------------------------------------


def test_bitbucket_request_shapes_and_query(bitbucket):
    provider = bitbucket.provider()
    provider.open(bitbucket.repo_url, SOURCE, TARGET, "Promote api", "Release r-1")
    provider.find_open(bitbucket.repo_url, SOURCE, TARGET)

    create, listing = bitbucket.fake.requests
    assert (create.method, create.path) == ("POST", "/2.0/repositories/acme/gitops/pullrequests")
    assert create.body == {
        "title": "Promote api",
        "description": "Release r-1",
        "source": {"branch": {"name": SOURCE}},
        "destination": {"branch": {"name": TARGET}},
    }
    assert create.headers["authorization"] == f"Bearer {bitbucket.token}"
    assert listing.param("state") == "OPEN"
    assert listing.param("q") == f'source.branch.name = "{SOURCE}" AND destination.branch.name = "{TARGET}"'


def test_bitbucket_branch_names_are_quoted_in_the_query(bitbucket):
    provider = bitbucket.provider()
    awkward = 'promotions/"quoted"\\branch'
    opened = provider.open(bitbucket.repo_url, awkward, TARGET, "title", "body")

    assert provider.find_open(bitbucket.repo_url, awkward, TARGET) == opened
    assert provider.find_open(bitbucket.repo_url, "promotions/", TARGET) is None


def test_bitbucket_abbreviated_merge_hash_is_resolved_to_the_full_commit(bitbucket):
    provider = bitbucket.provider()
    opened = provider.open(bitbucket.repo_url, SOURCE, TARGET, "title", "body")
    merge_commit = bitbucket.merge(opened.number)

    state = provider.state(bitbucket.repo_url, opened.number)

    assert state.merge_commit_sha == merge_commit
    assert bitbucket.fake.requests[-1].path == f"/2.0/repositories/acme/gitops/commit/{merge_commit[:12]}"


def test_bitbucket_user_and_app_password_go_as_basic_auth():
    credentials = "deploy-bot:app-password-value"
    with FakeBitbucket(token=credentials, repositories=["acme/gitops"]) as fake:
        provider = provider_for(
            "git@bitbucket.org:acme/gitops.git",
            provider=None,
            api_url=fake.api_url,
            token=credentials,
            http=HttpClient(),
        )
        opened = provider.open("git@bitbucket.org:acme/gitops.git", SOURCE, TARGET, "title", "body")

    assert opened.number == 1
    assert (
        fake.requests[0].headers["authorization"]
        == f"Basic {base64.b64encode(credentials.encode()).decode()}"
    )


def test_bitbucket_validation_error_carries_the_fields(bitbucket):
    with pytest.raises(GitProviderRejected, match=r"HTTP 400: title: This field is required\. \(title: "):
        bitbucket.provider().open(bitbucket.repo_url, SOURCE, TARGET, "", "body")


@pytest.mark.parametrize(
    ("entry", "authorization"),
    [
        (
            {"username": "deploy-bot", "password": "app-password-value"},
            "Basic " + base64.b64encode(b"deploy-bot:app-password-value").decode(),
        ),
        ({"username": "x-token-auth", "password": "access-token-value"}, "Bearer access-token-value"),
        ({"token": "access-token-value"}, "Bearer access-token-value"),
    ],
)
def test_bitbucket_credentials_from_the_git_secret_are_an_app_password_or_an_access_token(
    entry, authorization
):
    """The entry that pushes to bitbucket.org over HTTPS also opens the pull request: with a user name of its
    own it is an app password, with x-token-auth or none an access token."""
    repo_url = "https://bitbucket.org/acme/gitops.git"
    credentials = GitCredentials(
        "git-credentials", read_secret=lambda name: {"https://bitbucket.org/": entry}
    )
    accepted = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
    with FakeBitbucket(
        token=accepted or f"{entry['username']}:{entry['password']}", repositories=["acme/gitops"]
    ) as fake:
        provider = PullRequestApis(credentials, HttpClient()).provider(
            repo_url, ProviderChoice(provider="bitbucket", api_url=fake.api_url)
        )
        provider.open(repo_url, SOURCE, TARGET, "title", "body")
    assert fake.requests[0].headers["authorization"] == authorization


# --- Commit statuses, as each host takes them --------------------------------------------------------------

SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"
RUNNING = CommitStatusUpdate(
    name="promotions/prod",
    state=CommitState.PENDING,
    description="Promoting api 1.2.3",
    url="https://promotions.example/releases/r-1",
)


def test_github_status_request_shape(github):
    github.provider().set_commit_status(github.repo_url, SHA, RUNNING)

    (request,) = github.fake.requests
    assert (request.method, request.path) == ("POST", f"/repos/acme/gitops/statuses/{SHA}")
    assert request.body == {
        "state": "pending",
        "target_url": "https://promotions.example/releases/r-1",
        "description": "Promoting api 1.2.3",
        "context": "promotions/prod",
    }
    assert request.headers["authorization"] == f"Bearer {github.token}"


def test_github_description_is_cut_to_the_140_characters_github_takes(github):
    reason = "Failed: " + "the deploy verification of every application in prod did not report healthy " * 3

    github.provider().set_commit_status(
        github.repo_url, SHA, RUNNING.model_copy(update={"state": CommitState.FAILURE, "description": reason})
    )

    sent = github.fake.requests[0].body["description"]
    assert len(sent) == 140 and sent == reason[:139] + "…"


def test_github_refuses_a_description_over_140_characters(github):
    """The fake's rule the test above relies on, as GitHub words it."""
    response = HttpClient().request(
        "POST",
        f"{github.fake.api_url}/repos/acme/gitops/statuses/{SHA}",
        headers={"Authorization": f"Bearer {github.token}"},
        json_body={"state": "failure", "description": "x" * 141, "context": "ci"},
    )

    assert response.status == 422
    assert "description is too long (maximum is 140 characters)" in response.body.decode()


def test_github_status_on_an_unknown_commit_is_rejected_naming_it(github):
    with pytest.raises(GitProviderRejected, match="HTTP 422: No commit found for SHA: main"):
        github.provider().set_commit_status(github.repo_url, "main", RUNNING)


def test_github_check_runs_are_read_the_latest_run_of_a_name_deciding(github):
    github.fake.report_check_run("acme/gitops", SHA, "lint", "completed", "failure")
    github.fake.report_check_run("acme/gitops", SHA, "lint", "completed", "neutral")
    github.fake.report_check_run("acme/gitops", SHA, "e2e", "in_progress")
    github.fake.report_status("acme/gitops", SHA, "deploy", "success", "deployed")

    read = github.provider().commit_statuses(github.repo_url, SHA, frozenset({StatusKind.CHECK_RUN}))

    assert read == [
        CommitStatus(
            kind=StatusKind.CHECK_RUN, name="lint", state=CommitState.SUCCESS, detail="completed: neutral"
        ),
        CommitStatus(kind=StatusKind.CHECK_RUN, name="e2e", state=CommitState.PENDING, detail="in_progress"),
    ]
    assert [request.path for request in github.fake.requests] == [
        f"/repos/acme/gitops/commits/{SHA}/check-runs"
    ]


def test_a_next_page_on_another_origin_is_not_followed_with_the_token(api, other_api):
    commit = f"/repos/acme/gitops/commits/{SHA}/status"
    api.route(
        "GET",
        commit,
        {"statuses": []},
        headers={"Link": f'<{other_api.url}{commit}?page=2>; rel="next"'},
    )
    provider = provider_for(
        "https://github.com/acme/gitops.git", provider=None, api_url=api.url, token="t", http=HttpClient()
    )

    with pytest.raises(
        GitProviderError, match=f"the next page, {other_api.url}{commit}, is not on {api.url}"
    ):
        provider.commit_statuses("https://github.com/acme/gitops.git", SHA, frozenset({StatusKind.STATUS}))
    assert other_api.requests == []


def test_gitlab_status_request_shape_a_release_in_progress_is_running(gitlab):
    gitlab.provider().set_commit_status(gitlab.repo_url, SHA, RUNNING)

    (request,) = gitlab.fake.requests
    assert (request.method, request.path) == (
        "POST",
        f"/api/v4/projects/acme%2Fplatform%2Fgitops/statuses/{SHA}",
    )
    assert request.body == {
        "state": "running",
        "name": "promotions/prod",
        "target_url": "https://promotions.example/releases/r-1",
        "description": "Promoting api 1.2.3",
    }
    assert request.headers["private-token"] == gitlab.token


def test_gitlab_failed_job_allowed_to_fail_counts_as_success(gitlab):
    gitlab.fake.report_status("acme/platform/gitops", SHA, "lint", "failed", "warnings", allow_failure=True)

    (read,) = gitlab.provider().commit_statuses(gitlab.repo_url, SHA, frozenset({StatusKind.STATUS}))

    assert (read.state, read.detail) == (CommitState.SUCCESS, "failed: warnings")


def test_gitlab_other_refusals_of_a_status_are_errors(gitlab):
    with pytest.raises(GitProviderNotFound, match="404 Commit Not Found"):
        gitlab.provider().set_commit_status(gitlab.repo_url, "main", RUNNING)


def test_bitbucket_status_request_shape(bitbucket):
    bitbucket.provider().set_commit_status(bitbucket.repo_url, SHA, RUNNING)

    (request,) = bitbucket.fake.requests
    assert (request.method, request.path) == (
        "POST",
        f"/2.0/repositories/acme/gitops/commit/{SHA}/statuses/build",
    )
    assert request.body == {
        "key": "promotions/prod",
        "state": "INPROGRESS",
        "name": "promotions/prod",
        "url": "https://promotions.example/releases/r-1",
        "description": "Promoting api 1.2.3",
    }
