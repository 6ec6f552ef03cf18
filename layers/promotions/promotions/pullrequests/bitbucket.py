"""Bitbucket Cloud pull requests over the REST API 2.0."""

from __future__ import annotations

import base64
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasPath, BaseModel, Field

from .models import PullRequest, PullRequestState, PullRequestStatus
from .rest import RestProvider, repository_path

BITBUCKET_API_URL = "https://api.bitbucket.org/2.0"

_STATUS = {
    "OPEN": PullRequestStatus.OPEN,
    "MERGED": PullRequestStatus.MERGED,
    "DECLINED": PullRequestStatus.CLOSED,
    "SUPERSEDED": PullRequestStatus.CLOSED,
}
_FULL_SHA_LENGTH = 40


class _BitbucketPull(BaseModel):
    id: int
    url: str = Field(validation_alias=AliasPath("links", "html", "href"))
    state: Literal["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]
    merge_commit: str | None = Field(default=None, validation_alias=AliasPath("merge_commit", "hash"))

    def pull_request(self) -> PullRequest:
        return PullRequest(number=self.id, url=self.url)


class _BitbucketPage(BaseModel):
    values: list[_BitbucketPull]


class _BitbucketCommit(BaseModel):
    hash: str


class BitbucketProvider(RestProvider):
    """`token`: an access token (sent as Bearer), or `username:app-password` / `email:api-token` (Basic)."""

    name = "Bitbucket"

    def _auth_headers(self) -> dict[str, str]:
        if ":" in self._token:
            return {"Authorization": f"Basic {base64.b64encode(self._token.encode()).decode()}"}
        return {"Authorization": f"Bearer {self._token}"}

    def _error_message(self, document: Any) -> str | None:
        error = document.get("error") if isinstance(document, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            return None
        fields = error.get("fields")
        if isinstance(fields, dict) and fields:
            return (
                f"{error['message']} ({'; '.join(f'{name}: {problem}' for name, problem in fields.items())})"
            )
        return error["message"]

    def open(
        self, repo_url: str, source_branch: str, target_branch: str, title: str, body: str
    ) -> PullRequest:
        workspace, slug = repository_path(repo_url, self.name)
        what = f"opening a pull request {source_branch} -> {target_branch} in {workspace}/{slug}"
        document = self._call(
            "POST",
            f"{_repo(workspace, slug)}/pullrequests",
            what,
            json_body={
                "title": title,
                "description": body,
                "source": {"branch": {"name": source_branch}},
                "destination": {"branch": {"name": target_branch}},
            },
        )
        return self._parse(_BitbucketPull, document, what).pull_request()

    def state(self, repo_url: str, number: int) -> PullRequestState:
        workspace, slug = repository_path(repo_url, self.name)
        what = f"pull request #{number} in {workspace}/{slug}"
        document = self._call("GET", f"{_repo(workspace, slug)}/pullrequests/{number}", what)
        pull = self._parse(_BitbucketPull, document, what)
        status = _STATUS[pull.state]
        merge_commit = pull.merge_commit if status is PullRequestStatus.MERGED else None
        if merge_commit and len(merge_commit) < _FULL_SHA_LENGTH:
            # Pull request answers abbreviate hashes to 12 characters; the commit resource has the full one.
            what = f"merge commit {merge_commit} of pull request #{number} in {workspace}/{slug}"
            document = self._call(
                "GET", f"{_repo(workspace, slug)}/commit/{quote(merge_commit, safe='')}", what
            )
            merge_commit = self._parse(_BitbucketCommit, document, what).hash
        return PullRequestState(number=pull.id, status=status, merge_commit_sha=merge_commit, url=pull.url)

    def find_open(self, repo_url: str, source_branch: str, target_branch: str) -> PullRequest | None:
        workspace, slug = repository_path(repo_url, self.name)
        what = f"open pull requests {source_branch} -> {target_branch} in {workspace}/{slug}"
        source, target = _bbql(source_branch), _bbql(target_branch)
        query = {
            "state": "OPEN",
            "q": f"source.branch.name = {source} AND destination.branch.name = {target}",
        }
        document = self._call("GET", f"{_repo(workspace, slug)}/pullrequests", what, query=query)
        pulls = self._parse(_BitbucketPage, document, what).values
        return pulls[0].pull_request() if pulls else None


def _repo(workspace: str, slug: str) -> str:
    return f"/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"


def _bbql(value: str) -> str:
    """A string literal of Bitbucket's query language."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
