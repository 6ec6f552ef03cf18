"""commitStatus against a local server answering with GitHub's recorded responses (upstream fixtures)."""

import json
from datetime import timedelta

import pytest

from promotions.checks import CommitRef, Failed, Passed, PhaseProgress, Wait, evaluate_checks

REPO = "octokit-fixture-org/tmp-scenario-create-status-20220719043722592-yp32a"
SHA = "2a6c97f6f5dc9166cc2e5d0d95415a386805ca07"
COMMIT = f"/repos/{REPO}/commits/{SHA}"
SUBJECT = f"commit 2a6c97f6f5dc of {REPO}"
STATUSES = f"GitHub statuses of commit 2a6c97f6f5dc in {REPO}"


@pytest.fixture
def combined_status(upstream_events):
    return json.loads((upstream_events / "github-combined-status.json").read_text())


@pytest.fixture
def check_runs(upstream_events):
    return json.loads((upstream_events / "github-check-runs-for-ref.json").read_text())


@pytest.fixture
def github(api, combined_status, check_runs):
    api.route("GET", f"{COMMIT}/status", combined_status)
    api.route("GET", f"{COMMIT}/check-runs", check_runs)
    return api


def commit_status(make_check, api, **config):
    return make_check("ci", commitStatus={"provider": "github", "apiUrl": api.url, **config}, timeout=30)


def test_without_a_list_every_status_and_check_run_counts_and_a_failure_fails_naming_it(
    make_check, context, services, github
):
    outcome = commit_status(make_check, github).config.evaluate(context, services)

    assert outcome == Failed(reason=f"{SUBJECT}: status example/1 (failure: create-status failure test)")
    # No tokenSecret: a public repository's statuses are read anonymously.
    assert all("Authorization" not in request.headers for request in github.requests)


def test_listed_contexts_that_succeeded_pass_and_the_token_is_sent(
    make_check, context, services, secrets, github
):
    secrets.secrets["ci/github"] = json.dumps({"token": "ghp_example"})
    check = commit_status(
        make_check, github, contexts=["example/2"], tokenSecret={"secret": "ci/github", "key": "token"}
    )

    outcome = check.config.evaluate(context, services)

    assert outcome == Passed()
    assert [request.path.partition("?")[0] for request in github.requests] == [f"{COMMIT}/status"]
    assert github.requests[0].headers["Authorization"] == "Bearer ghp_example"
    assert github.requests[0].headers["Accept"] == "application/vnd.github+json"


def test_a_neutral_check_run_counts_as_success(make_check, context, services, github):
    outcome = commit_status(make_check, github, checkRuns=["mighty_readme"]).config.evaluate(
        context, services
    )

    assert outcome == Passed()


def test_a_pending_status_waits_poll_seconds(make_check, context, services, api, combined_status):
    combined_status["statuses"][0]["state"] = "pending"
    api.route("GET", f"{COMMIT}/status", combined_status)

    outcome = commit_status(make_check, api, contexts=["example/1"], pollSeconds=120).config.evaluate(
        context, services
    )

    assert outcome == Wait(
        seconds=120, reason=f"{SUBJECT}: waiting for status example/1 (pending: create-status failure test)"
    )


def test_a_check_run_still_in_progress_waits(make_check, context, services, api, check_runs):
    check_runs["check_runs"][0] |= {"status": "in_progress", "conclusion": None}
    api.route("GET", f"{COMMIT}/check-runs", check_runs)

    outcome = commit_status(make_check, api, checkRuns=["mighty_readme"]).config.evaluate(context, services)

    assert outcome == Wait(seconds=60, reason=f"{SUBJECT}: waiting for check run mighty_readme (in_progress)")


def test_a_context_not_reported_yet_waits_then_times_out_with_the_last_observation(
    make_check, context, services, clock, github
):
    check = commit_status(make_check, github, contexts=["example/2", "deploy/lint"])
    started = clock()

    first = evaluate_checks([check], context, services)
    clock.advance(minutes=31)
    late = evaluate_checks([check], context, services, progress=first.progress)

    assert first.outcome == Wait(
        seconds=60, reason=f"{SUBJECT}: waiting for status deploy/lint (not reported yet)"
    )
    assert first.progress == PhaseProgress(current="ci", current_since=started)
    assert late.outcome == Failed(
        reason=f"timed out after 30m: {SUBJECT}: waiting for status deploy/lint (not reported yet)"
    )


def test_the_last_wait_before_the_timeout_is_cut_short(make_check, context, services, clock, github):
    check = commit_status(make_check, github, contexts=["deploy/lint"], pollSeconds=600)
    progress = PhaseProgress(current="ci", current_since=clock() - timedelta(minutes=28))

    outcome = evaluate_checks([check], context, services, progress=progress).outcome

    assert outcome.seconds == 120


def test_post_actions_read_the_promotion_commit_of_the_application_repository(
    make_check, context, services, api
):
    promotion_commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"
    api.route(
        "GET",
        f"/repos/example/guestbook-deploy/commits/{promotion_commit}/status",
        {
            "state": "success",
            "statuses": [{"context": "kubeconform", "state": "success", "description": "valid"}],
        },
    )
    post_action = context.model_copy(update={"commit": CommitRef(sha=promotion_commit)})

    outcome = commit_status(make_check, api, contexts=["kubeconform"]).config.evaluate(post_action, services)

    assert outcome == Passed()


def test_check_runs_are_read_page_by_page_and_the_latest_run_of_a_name_decides(
    make_check, context, services, api, check_runs
):
    rerun = check_runs["check_runs"][0] | {
        "id": check_runs["check_runs"][0]["id"] + 1,
        "conclusion": "success",
    }
    failed = check_runs["check_runs"][0] | {"conclusion": "failure"}
    next_page = f"{api.url}{COMMIT}/check-runs?per_page=100&page=2"
    api.route(
        "GET",
        f"{COMMIT}/check-runs?per_page=100",
        {"total_count": 2, "check_runs": [failed]},
        headers={"Link": f'<{next_page}>; rel="next", <{next_page}>; rel="last"'},
    )
    api.route("GET", f"{COMMIT}/check-runs?per_page=100&page=2", {"total_count": 2, "check_runs": [rerun]})

    outcome = commit_status(make_check, api, checkRuns=["mighty_readme"]).config.evaluate(context, services)

    assert outcome == Passed()
    assert len(api.requests) == 2


def test_gitlab_statuses_with_allowed_failures_pass(make_check, context, services, api):
    # The shape of GitLab's "List the statuses of a commit" answer.
    project = "group%2Fsubgroup%2Fguestbook"
    statuses = [
        {
            "id": 11,
            "sha": SHA,
            "ref": "main",
            "status": "success",
            "name": "test",
            "description": None,
            "target_url": "https://gitlab.example/jobs/11",
            "allow_failure": False,
        },
        {
            "id": 12,
            "sha": SHA,
            "ref": "main",
            "status": "failed",
            "name": "lint",
            "description": "warnings",
            "target_url": "https://gitlab.example/jobs/12",
            "allow_failure": True,
        },
    ]
    api.route("GET", f"/projects/{project}/repository/commits/{SHA}/statuses", statuses)
    on_gitlab = context.model_copy(
        update={"source_repo_url": "https://gitlab.com/group/subgroup/guestbook.git"}
    )

    check = make_check("ci", commitStatus={"apiUrl": api.url, "contexts": ["test", "lint"]})
    outcome = check.config.evaluate(on_gitlab, services)

    assert outcome == Passed()


def test_a_failed_gitlab_job_fails(make_check, context, services, api):
    statuses = [
        {"id": 13, "status": "canceled", "name": "deploy-check", "description": None, "allow_failure": False}
    ]
    api.route("GET", f"/projects/group%2Fguestbook/repository/commits/{SHA}/statuses", statuses)
    on_gitlab = context.model_copy(update={"source_repo_url": "git@gitlab.com:group/guestbook.git"})

    outcome = make_check("ci", commitStatus={"apiUrl": api.url}).config.evaluate(on_gitlab, services)

    assert outcome == Failed(
        reason="commit 2a6c97f6f5dc of group/guestbook: status deploy-check (canceled: no description)"
    )


def test_an_unknown_commit_fails(make_check, context, services, api):
    outcome = commit_status(make_check, api, contexts=["example/2"]).config.evaluate(context, services)

    assert outcome == Failed(
        reason=f"{STATUSES}: not found (or not visible to the token), HTTP 404: Not Found"
    )


@pytest.mark.parametrize(
    ("status", "headers", "reason"),
    [
        (429, {}, "rate limited, HTTP 429: slow down"),
        (403, {"X-RateLimit-Remaining": "0"}, "rate limited, HTTP 403: slow down"),
        (502, {}, "GET {url}: HTTP 502"),
    ],
)
def test_rate_limits_and_outages_wait_for_the_next_poll(
    make_check, context, services, api, status, headers, reason
):
    api.route("GET", f"{COMMIT}/status", {"message": "slow down"}, status=status, headers=headers)

    outcome = commit_status(make_check, api, contexts=["example/2"]).config.evaluate(context, services)

    assert outcome == Wait(
        seconds=60, reason=f"{STATUSES}: " + reason.format(url=f"{api.url}{COMMIT}/status")
    )


def test_a_missing_token_secret_fails(make_check, context, services, github):
    check = commit_status(make_check, github, tokenSecret="ci/missing")

    outcome = check.config.evaluate(context, services)

    assert outcome == Failed(reason="secret ci/missing cannot be read (ResourceNotFoundException)")


def test_a_host_that_is_neither_github_nor_gitlab_needs_a_provider(make_check, context, services):
    elsewhere = context.model_copy(update={"source_repo_url": "https://git.example.com/team/app.git"})

    outcome = make_check("ci", commitStatus={}).config.evaluate(elsewhere, services)

    assert outcome == Failed(
        reason="cannot tell whether git.example.com runs GitHub or GitLab: set provider and apiUrl"
    )


def test_an_api_url_that_is_not_the_providers_fails(make_check, context, services, api):
    api.route("GET", f"{COMMIT}/status", {"items": []})

    outcome = commit_status(make_check, api, contexts=["example/2"]).config.evaluate(context, services)

    assert outcome == Failed(
        reason=f"{STATUSES}: {api.url} answered in another shape than GitHub's API, statuses: Field required"
    )


def test_a_gitlab_host_is_recognised_by_its_name_and_the_token_goes_as_gitlab_takes_it(
    make_check, context, services, secrets, api
):
    secrets.secrets["ci/gitlab"] = "glpat-example"
    statuses = [{"id": 21, "status": "running", "name": "build", "description": None, "allow_failure": False}]
    api.route("GET", f"/projects/team%2Fguestbook/repository/commits/{SHA}/statuses", statuses)
    self_managed = context.model_copy(
        update={"source_repo_url": "https://gitlab.example.com/team/guestbook.git"}
    )
    check = make_check("ci", commitStatus={"apiUrl": api.url, "tokenSecret": "ci/gitlab"})

    outcome = check.config.evaluate(self_managed, services)

    assert outcome == Wait(
        seconds=60,
        reason="commit 2a6c97f6f5dc of team/guestbook: waiting for status build (running: no description)",
    )
    assert api.requests[0].headers["PRIVATE-TOKEN"] == "glpat-example"


def test_check_runs_on_a_host_recognised_as_gitlab_fail_without_asking_it(make_check, context, services, api):
    on_gitlab = context.model_copy(update={"source_repo_url": "https://gitlab.com/group/guestbook.git"})

    outcome = make_check("ci", commitStatus={"apiUrl": api.url, "checkRuns": ["build"]}).config.evaluate(
        on_gitlab, services
    )

    assert outcome == Failed(
        reason="checkRuns are GitHub's; GitLab reports pipeline jobs as commit statuses: list them in contexts"
    )
    assert api.requests == []
