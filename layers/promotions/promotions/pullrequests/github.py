"""GitHub (and GitHub Enterprise Server) pull requests over the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, RootModel

from .models import PullRequest, PullRequestState, PullRequestStatus
from .rest import RestProvider, repository_path

GITHUB_API_URL = "https://api.github.com"


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


class GitHubProvider(RestProvider):
    name = "GitHub"

    def _auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

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


def _repo(owner: str, name: str) -> str:
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _detail(error: dict[str, Any]) -> str:
    if isinstance(error.get("message"), str):
        return error["message"]
    return " ".join(str(error[key]) for key in ("resource", "field", "code") if error.get(key))


class _GitHubPulls(RootModel[list[GitHubPull]]):
    pass
