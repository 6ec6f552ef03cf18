"""commitStatus: go on once CI reports success for the commit, on GitHub (statuses and check runs) or GitLab
(commit statuses, which include its pipeline jobs)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import PositiveInt, model_validator

from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckKind, Name, SecretRef
from promotions.checks.outcomes import CheckOutcome, Failed, Passed, Wait
from promotions.checks.services import CheckServices, HttpRequester, SecretUnavailable
from promotions.http import HttpError, HttpResponse, HttpTransientError, redact
from promotions.repo_url import canonical_repo

Provider = Literal["github", "gitlab"]
State = Literal["success", "pending", "failure"]

_GITHUB_STATUS_STATES: Mapping[str, State] = {"success": "success", "pending": "pending"}
# Check-run conclusions that do not block a merge on GitHub either.
_GITHUB_PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
_GITLAB_STATES: Mapping[str, State] = {"success": "success", "skipped": "success"}
_GITLAB_FAILED = frozenset({"failed", "canceled"})
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
_CHECK_RUNS_ON_GITLAB = (
    "checkRuns are GitHub's; GitLab reports pipeline jobs as commit statuses: list them in contexts"
)


@dataclass(frozen=True)
class _Report:
    state: State
    detail: str


class _Unreadable(Exception):
    """The provider refused or does not know the commit: polling will not change that."""


class _RateLimited(Exception):
    pass


class CommitStatusCheck(CheckKind):
    """Passes when the listed status contexts and check runs (all of them when none are listed) report success
    for the commit: the promotion commit in post-actions, else the commit the release promotes. Pending or
    missing reports wait `pollSeconds`; a failure or error fails, naming it."""

    kind: ClassVar[str] = "commitStatus"

    # Default: github for github.com, gitlab for gitlab.com and hosts named gitlab.*.
    provider: Provider | None = None
    # Default: https://api.github.com (GitHub Enterprise: https://HOST/api/v3); GitLab: https://HOST/api/v4.
    api_url: str | None = None
    contexts: tuple[Name, ...] = ()
    check_runs: tuple[Name, ...] = ()
    # Where the API token is: a Secrets Manager secret ARN or name, or {secret, key}.
    token_secret: SecretRef | None = None
    poll_seconds: PositiveInt = 60

    @model_validator(mode="after")
    def _check_runs_need_github(self) -> CommitStatusCheck:
        if self.provider == "gitlab" and self.check_runs:
            raise ValueError(_CHECK_RUNS_ON_GITLAB)
        return self

    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome:
        if context.commit is not None and context.app is not None:
            repo_url, sha = context.app.repo_url, context.commit.sha
        elif context.source_commit and context.source_repo_url:
            repo_url, sha = context.source_repo_url, context.source_commit
        else:
            return Failed(
                reason="no commit to read statuses of: neither a promotion commit nor the release's source"
            )
        host, _, path = canonical_repo(repo_url).partition("/")
        provider = self.provider or _provider_of(host)
        if provider is None:
            return Failed(reason=f"cannot tell whether {host} runs GitHub or GitLab: set provider and apiUrl")
        if provider == "gitlab" and self.check_runs:
            return Failed(reason=_CHECK_RUNS_ON_GITLAB)
        try:
            token = self._token(services)
        except SecretUnavailable as error:
            return Failed(reason=str(error))
        reader = _ReportReader(services.http, _headers(provider, token))
        api = (self.api_url or _default_api(provider, host)).rstrip("/")
        subject = f"commit {sha[:12]} of {path}"
        try:
            if provider == "github":
                statuses, runs = self._github_reports(reader, api, path, sha)
            else:
                statuses, runs = _gitlab_statuses(reader, api, path, sha), {}
        except (HttpTransientError, _RateLimited) as error:
            return Wait(seconds=self.poll_seconds, reason=f"{subject}: {error}")
        except (_Unreadable, HttpError) as error:
            return Failed(reason=f"{subject}: {error}")
        except (KeyError, TypeError) as error:
            # Another API than the provider's, most likely a wrong apiUrl.
            return Failed(reason=f"{subject}: {api} answered in an unexpected shape (no {error})")
        return self._verdict(subject, statuses, runs)

    def _token(self, services: CheckServices) -> str | None:
        return self.token_secret.read(services) if self.token_secret is not None else None

    def _github_reports(
        self, reader: _ReportReader, api: str, path: str, sha: str
    ) -> tuple[dict[str, _Report], dict[str, _Report]]:
        everything = not (self.contexts or self.check_runs)
        statuses: dict[str, _Report] = {}
        runs: dict[str, _Report] = {}
        commit = f"{api}/repos/{path}/commits/{sha}"
        if everything or self.contexts:
            # The combined status holds the latest status of each context.
            for page in reader.pages(f"{commit}/status?per_page=100"):
                for status in page["statuses"]:
                    statuses[status["context"]] = _Report(
                        _GITHUB_STATUS_STATES.get(status["state"], "failure"),
                        f"{status['state']}: {status.get('description') or 'no description'}",
                    )
        if everything or self.check_runs:
            latest: dict[str, dict[str, Any]] = {}
            for page in reader.pages(f"{commit}/check-runs?per_page=100"):
                for run in page["check_runs"]:
                    if run["name"] not in latest or run["id"] > latest[run["name"]]["id"]:
                        latest[run["name"]] = run
            for name, run in latest.items():
                if run["status"] != "completed":
                    runs[name] = _Report("pending", run["status"])
                else:
                    passing = run["conclusion"] in _GITHUB_PASSING_CONCLUSIONS
                    runs[name] = _Report(
                        "success" if passing else "failure", f"completed: {run['conclusion']}"
                    )
        return statuses, runs

    def _verdict(
        self, subject: str, statuses: Mapping[str, _Report], runs: Mapping[str, _Report]
    ) -> CheckOutcome:
        if self.contexts or self.check_runs:
            required = [(f"status {name}", statuses.get(name)) for name in self.contexts] + [
                (f"check run {name}", runs.get(name)) for name in self.check_runs
            ]
        else:
            required = [(f"status {name}", report) for name, report in statuses.items()] + [
                (f"check run {name}", report) for name, report in runs.items()
            ]
            if not required:
                return Wait(
                    seconds=self.poll_seconds, reason=f"{subject}: no statuses or check runs reported yet"
                )
        failed = [
            f"{name} ({report.detail})" for name, report in required if report and report.state == "failure"
        ]
        if failed:
            return Failed(reason=f"{subject}: {'; '.join(failed)}")
        waiting = [
            f"{name} ({report.detail if report else 'not reported yet'})"
            for name, report in required
            if report is None or report.state == "pending"
        ]
        if waiting:
            return Wait(seconds=self.poll_seconds, reason=f"{subject}: waiting for {'; '.join(waiting)}")
        return Passed()


def _gitlab_statuses(reader: _ReportReader, api: str, path: str, sha: str) -> dict[str, _Report]:
    latest: dict[str, dict[str, Any]] = {}
    project = quote(path, safe="")
    for page in reader.pages(f"{api}/projects/{project}/repository/commits/{sha}/statuses?per_page=100"):
        for status in page:
            if status["name"] not in latest or status["id"] > latest[status["name"]]["id"]:
                latest[status["name"]] = status
    reports = {}
    for name, status in latest.items():
        state = status["status"]
        if state in _GITLAB_FAILED:
            verdict: State = "success" if status.get("allow_failure") else "failure"
        else:
            verdict = _GITLAB_STATES.get(state, "pending")
        reports[name] = _Report(verdict, f"{state}: {status.get('description') or 'no description'}")
    return reports


def _provider_of(host: str) -> Provider | None:
    if host == "github.com":
        return "github"
    if host == "gitlab.com" or host.startswith("gitlab."):
        return "gitlab"
    return None


def _default_api(provider: Provider, host: str) -> str:
    if provider == "github":
        return "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    return f"https://{host}/api/v4"


def _headers(provider: Provider, token: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if provider == "github":
        headers |= {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    return headers


def _header(response: HttpResponse, name: str) -> str | None:
    return next((value for key, value in response.headers.items() if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class _ReportReader:
    http: HttpRequester
    headers: Mapping[str, str]

    def pages(self, url: str) -> Iterator[Any]:
        """Each page's JSON, following the Link rel="next" both GitHub and GitLab send."""
        next_url: str | None = url
        while next_url is not None:
            response = self.http.request("GET", next_url, headers=self.headers)
            self._raise_for(response, next_url)
            yield response.json()
            link = _NEXT_LINK.search(_header(response, "Link") or "")
            next_url = link[1] if link else None

    @staticmethod
    def _raise_for(response: HttpResponse, url: str) -> None:
        if response.ok:
            return
        if response.status == 429 or (
            response.status == 403 and _header(response, "X-RateLimit-Remaining") == "0"
        ):
            raise _RateLimited(f"rate limited by {redact(url)}")
        if response.status == 404:
            raise _Unreadable(f"{redact(url)} answered 404: no such commit, or the token cannot see it")
        raise _Unreadable(f"{redact(url)} answered HTTP {response.status}")
