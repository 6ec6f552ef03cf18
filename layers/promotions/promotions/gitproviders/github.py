"""GitHub (and GitHub Enterprise Server) over the REST API: pull requests, commit statuses and check runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import BaseModel, RootModel

from .models import (
    CommitState,
    CommitStatus,
    CommitStatusUpdate,
    PullRequest,
    PullRequestState,
    PullRequestStatus,
    StatusKind,
)
from .rest import RestProvider, latest_by_name, repository_path

GITHUB_API_URL = "https://api.github.com"
_PAGE = {"per_page": "100"}
# A status's description longer than this is refused (422, "description is too long").
_DESCRIPTION_LIMIT = 140
_STATUS_STATES = {"success": CommitState.SUCCESS, "pending": CommitState.PENDING}  # error, failure: failed
_STATES_SET = {CommitState.PENDING: "pending", CommitState.SUCCESS: "success", CommitState.FAILURE: "failure"}
# Check run conclusions that do not block a merge on GitHub either.
_PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


class GitHubPull(BaseModel):
    """A pull request as the REST API and the `pull_request` webhook both carry it."""

    number: int
    html_url: str
    state: Literal["open", "closed"]
    merged: bool | None = None  # absent from list answers, where merged_at tells
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None

    @property
    def status(self) -> PullRequestStatus:
        if self.merged or self.merged_at is not None:
            return PullRequestStatus.MERGED
        return PullRequestStatus.CLOSED if self.state == "closed" else PullRequestStatus.OPEN

    @property
    def merged_commit(self) -> str | None:
        # An open pull request's merge_commit_sha is GitHub's test merge, not anything on the base branch.
        return self.merge_commit_sha if self.status is PullRequestStatus.MERGED else None

    def pull_request(self) -> PullRequest:
        return PullRequest(number=self.number, url=self.html_url)

    def state_now(self) -> PullRequestState:
        return PullRequestState(
            number=self.number, status=self.status, merge_commit_sha=self.merged_commit, url=self.html_url
        )


class _GitHubStatus(BaseModel):
    context: str
    state: str
    description: str | None = None

    def commit_status(self) -> CommitStatus:
        return CommitStatus(
            kind=StatusKind.STATUS,
            name=self.context,
            state=_STATUS_STATES.get(self.state, CommitState.FAILURE),
            detail=f"{self.state}: {self.description or 'no description'}",
        )


class _CombinedStatus(BaseModel):
    """The combined status: the latest status of each context."""

    statuses: list[_GitHubStatus]


class _CheckRun(BaseModel):
    id: int
    name: str
    status: str
    conclusion: str | None = None

    def commit_status(self) -> CommitStatus:
        if self.status != "completed":
            state, detail = CommitState.PENDING, self.status
        else:
            passing = self.conclusion in _PASSING_CONCLUSIONS
            state = CommitState.SUCCESS if passing else CommitState.FAILURE
            detail = f"completed: {self.conclusion}"
        return CommitStatus(kind=StatusKind.CHECK_RUN, name=self.name, state=state, detail=detail)


class _CheckRuns(BaseModel):
    check_runs: list[_CheckRun]


class GitHubProvider(RestProvider):
    name = "GitHub"
    status_kinds = frozenset({StatusKind.STATUS, StatusKind.CHECK_RUN})
    cloud_host = "github.com"
    cloud_api_url = GITHUB_API_URL
    self_hosted_api_path = "/api/v3"
    api_headers: ClassVar[Mapping[str, str]] = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }

    def _auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def _error_message(self, document: Any) -> str | None:
        if not isinstance(document, dict) or not isinstance(document.get("message"), str):
            return None
        details = [_detail(error) for error in document.get("errors") or [] if isinstance(error, dict)]
        return ": ".join([document["message"], "; ".join(details)]) if details else document["message"]

    def open(
        self, repo_url: str, source_branch: str, target_branch: str, title: str, body: str
    ) -> PullRequest:
        owner, name = repository_path(repo_url, self.name)
        what = f"opening a pull request {source_branch} -> {target_branch} in {owner}/{name}"
        document = self._call(
            "POST",
            f"{_repo(owner, name)}/pulls",
            what,
            json_body={"title": title, "body": body, "head": source_branch, "base": target_branch},
        )
        return self._parse(GitHubPull, document, what).pull_request()

    def state(self, repo_url: str, number: int) -> PullRequestState:
        owner, name = repository_path(repo_url, self.name)
        what = f"pull request #{number} in {owner}/{name}"
        document = self._call("GET", f"{_repo(owner, name)}/pulls/{number}", what)
        return self._parse(GitHubPull, document, what).state_now()

    def find_open(self, repo_url: str, source_branch: str, target_branch: str) -> PullRequest | None:
        owner, name = repository_path(repo_url, self.name)
        what = f"open pull requests {source_branch} -> {target_branch} in {owner}/{name}"
        # The engine pushes its branch to the repository itself, so the head is qualified with the same owner.
        query = {"state": "open", "head": f"{owner}:{source_branch}", "base": target_branch}
        document = self._call("GET", f"{_repo(owner, name)}/pulls", what, query=query)
        pulls = self._parse(_GitHubPulls, document, what).root
        # GitHub allows one open pull request per head and base, so the first is the one.
        return pulls[0].pull_request() if pulls else None

    def commit_statuses(self, repo_url: str, sha: str, kinds: frozenset[StatusKind]) -> list[CommitStatus]:
        owner, name = repository_path(repo_url, self.name)
        commit = f"{_repo(owner, name)}/commits/{quote(sha, safe='')}"
        found: list[CommitStatus] = []
        if StatusKind.STATUS in kinds:
            what = f"statuses of commit {sha[:12]} in {owner}/{name}"
            for page in self._pages(f"{commit}/status", what, _PAGE):
                found += [
                    status.commit_status() for status in self._parse(_CombinedStatus, page, what).statuses
                ]
        if StatusKind.CHECK_RUN in kinds:
            what = f"check runs of commit {sha[:12]} in {owner}/{name}"
            runs = [
                run
                for page in self._pages(f"{commit}/check-runs", what, _PAGE)
                for run in self._parse(_CheckRuns, page, what).check_runs
            ]
            found += [run.commit_status() for run in latest_by_name(runs)]
        return found

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatusUpdate) -> None:
        owner, name = repository_path(repo_url, self.name)
        what = f"setting status {status.name} on commit {sha[:12]} in {owner}/{name}"
        description = status.description
        if len(description) > _DESCRIPTION_LIMIT:
            description = description[: _DESCRIPTION_LIMIT - 1] + "…"
        self._call(
            "POST",
            f"{_repo(owner, name)}/statuses/{quote(sha, safe='')}",
            what,
            json_body={
                "state": _STATES_SET[status.state],
                "target_url": status.url,
                "description": description,
                "context": status.name,
            },
        )


def _repo(owner: str, name: str) -> str:
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _detail(error: dict[str, Any]) -> str:
    if isinstance(error.get("message"), str):
        return error["message"]
    return " ".join(str(error[key]) for key in ("resource", "field", "code") if error.get(key))


class _GitHubPulls(RootModel[list[GitHubPull]]):
    pass
