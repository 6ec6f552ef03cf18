"""pullRequestMerged: polls a `pr` promotion's pull request; its merge commit becomes the promoted commit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from promotions.checks import (
    CheckContext,
    CommitRef,
    Failed,
    Passed,
    PhaseProgress,
    PromotionCheck,
    Wait,
    evaluate_checks,
)
from promotions.checks.pull_request_merged import PullRequestMergedCheck
from promotions.gitproviders import provider_for
from promotions.gitproviders.apis import ProviderChoice
from promotions.http import HttpClient
from promotions.release.builtin_checks import pull_request_check
from promotions_local.fakes import FakeGitHub

TOKEN = "ghp-test-token"
REPO_URL = "https://github.com/acme/gitops.git"
CREDENTIALS_SECRET = "git-credentials"


@pytest.fixture
def github(upstream_events: Path) -> Iterator[FakeGitHub]:
    shape = json.loads((upstream_events / "github-pull-request-closed-merged.json").read_text())["pull_request"]
    with FakeGitHub(token=TOKEN, pull_request_shape=shape, repositories=["acme/gitops"]) as fake:
        yield fake


@pytest.fixture
def pull_request(github: FakeGitHub) -> int:
    """An open pull request on the fake, as the promotion opened it; returns its number."""
    provider = provider_for(REPO_URL, provider=None, api_url=github.api_url, token=TOKEN, http=HttpClient())
    return provider.open(REPO_URL, "promotions/r1/prod", "main", "Promote", "body").number


@pytest.fixture
def credentials(secrets) -> None:
    secrets.secrets[CREDENTIALS_SECRET] = json.dumps({"https://github.com/acme/": {"token": TOKEN}})


def merged_check(
    github: FakeGitHub, number: int, *, timeout: timedelta = timedelta(hours=24)
) -> PromotionCheck:
    return pull_request_check(
        REPO_URL,
        number,
        choice=ProviderChoice(api_url=github.api_url),
        credentials=CREDENTIALS_SECRET,
        timeout=timeout,
    )


def test_an_open_pull_request_waits_then_its_merge_commit_is_the_promoted_commit(
    github, pull_request, credentials, context, services
):
    check = merged_check(github, pull_request)

    waiting = check.config.evaluate(context, services)
    merge_sha = github.merge("acme/gitops", pull_request)
    merged = check.config.evaluate(context, services)

    assert isinstance(waiting, Wait)
    assert waiting.seconds == 60
    url = f"{github.url}/acme/gitops/pull/{pull_request}"
    assert waiting.reason == f"pull request #{pull_request} is open: {url}"
    assert merged == Passed(promoted_commit=merge_sha)
    assert {request.headers["authorization"] for request in github.requests} == {f"Bearer {TOKEN}"}


def test_a_pull_request_closed_without_merging_fails_with_its_number(
    github, pull_request, credentials, context, services
):
    github.close("acme/gitops", pull_request)

    outcome = merged_check(github, pull_request).config.evaluate(context, services)

    assert outcome == Failed(
        reason=f"pull request #{pull_request} was closed without merging "
        f"({github.url}/acme/gitops/pull/{pull_request})"
    )


def test_an_unreachable_provider_is_asked_again(github, pull_request, credentials, context, services):
    github.fail_next(503)

    outcome = merged_check(github, pull_request).config.evaluate(context, services)

    assert isinstance(outcome, Wait) and "did not answer" in outcome.reason and "503" in outcome.reason


def test_without_credentials_for_the_repository_it_fails_saying_where_the_token_comes_from(
    github, pull_request, secrets, context, services
):
    secrets.secrets[CREDENTIALS_SECRET] = json.dumps({"https://gitlab.com/": {"token": "other"}})

    outcome = merged_check(github, pull_request).config.evaluate(context, services)

    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith(f"no API token for {REPO_URL}: ")
    assert [request.method for request in github.requests] == ["POST"], "only the promotion's own request"


def test_a_refused_token_fails_without_showing_it(github, pull_request, secrets, context, services):
    secrets.secrets[CREDENTIALS_SECRET] = json.dumps({"https://github.com/": {"token": "revoked-token"}})

    outcome = merged_check(github, pull_request).config.evaluate(context, services)

    assert isinstance(outcome, Failed)
    assert "token was refused" in outcome.reason and "revoked-token" not in outcome.reason


@pytest.mark.parametrize(
    ("secret", "reason"),
    [(None, "secret git-credentials cannot be read"), ("not json", "secret git-credentials is not JSON")],
)
def test_an_unreadable_credentials_secret_fails(github, secrets, context, services, secret, reason):
    if secret is not None:
        secrets.secrets[CREDENTIALS_SECRET] = secret

    outcome = merged_check(github, 1).config.evaluate(context, services)

    assert isinstance(outcome, Failed) and outcome.reason.startswith(reason)


def test_the_engine_built_check_is_named_after_the_pull_request_and_bounded_by_the_timeout(github):
    check = merged_check(github, 7, timeout=timedelta(hours=2))

    assert check.name == "pull-request:github.com/acme/gitops#7"
    assert check.timeout == timedelta(hours=2)
    assert isinstance(check.config, PullRequestMergedCheck)
    assert check.config.choice.provider is None
    assert check.config.choice.api_url.rstrip("/") == github.api_url
    assert not check.allowed_in_hooks


def test_it_can_be_written_as_a_promotion_check_of_its_own():
    check = PromotionCheck.model_validate(
        {
            "metadata": {"name": "platform-merge"},
            "spec": {
                "pullRequestMerged": {
                    "repoUrl": "https://gitlab.example.com/platform/gitops.git",
                    "number": 42,
                    "credentials": "git-credentials",
                    "provider": "gitlab",
                    "pollSeconds": 300,
                },
                "timeout": 60,
            },
        }
    )

    assert check.config.choice == ProviderChoice(provider="gitlab")
    assert check.config.poll_seconds == 300


def test_the_phase_stops_after_the_merge_so_later_checks_see_the_merge_commit(
    github, pull_request, credentials, context: CheckContext, services, api
):
    """The caller records the promoted commit and evaluates again with a context that carries it."""
    api.route("POST", "/smoke", {})
    smoke = PromotionCheck.model_validate(
        {
            "metadata": {"name": "smoke"},
            "spec": {"http": {"url": f"{api.url}/smoke", "method": "POST", "body": {"sha": "${COMMIT_SHA}"}}},
        }
    )
    checks = [merged_check(github, pull_request), smoke]
    merge_sha = github.merge("acme/gitops", pull_request)

    first = evaluate_checks(checks, context, services)
    smoke_calls_before = len(api.requests)
    promoted = context.model_copy(update={"commit": CommitRef(sha=merge_sha)})
    second = evaluate_checks(checks, promoted, services, progress=first.progress)

    assert first.promoted_commit == merge_sha
    assert first.check == checks[0].name
    assert first.progress == PhaseProgress(passed=(checks[0].name,))
    assert smoke_calls_before == 0
    assert second.promoted_commit is None and isinstance(second.outcome, Passed)
    assert [json.loads(request.body) for request in api.requests] == [{"sha": merge_sha}]


def test_waiting_for_the_merge_stops_at_the_timeout(
    github, pull_request, credentials, context, services, clock
):
    checks = [merged_check(github, pull_request, timeout=timedelta(hours=1))]

    first = evaluate_checks(checks, context, services)
    clock.advance(hours=1)
    second = evaluate_checks(checks, context, services, progress=first.progress)

    assert isinstance(first.outcome, Wait)
    assert second.outcome == Failed(
        reason=f"timed out after 1h: pull request #{pull_request} is open: "
        f"{github.url}/acme/gitops/pull/{pull_request}"
    )
