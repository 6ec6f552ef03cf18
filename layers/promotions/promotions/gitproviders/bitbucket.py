"""Bitbucket Cloud over the REST API 2.0: pull requests and commit (build) statuses."""

from __future__ import annotations

import base64
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasPath, BaseModel, Field

from promotions.http import HttpResponse

from .models import (
    CommitState,
    CommitStatus,
    CommitStatusUpdate,
    PullRequest,
    PullRequestState,
    PullRequestStatus,
    StatusKind,
)
from .rest import RestProvider, repository_path

BITBUCKET_API_URL = "https://api.bitbucket.org/2.0"
# The user names that go with Bitbucket access tokens over Git HTTPS. Any other comes with an app password
# (or an Atlassian API token), which Bitbucket's API takes only as Basic credentials with that user name.
_TOKEN_USERNAMES = frozenset({"x-token-auth", "x-access-token"})
_COMMIT_STATES = {"SUCCESSFUL": CommitState.SUCCESS, "INPROGRESS": CommitState.PENDING}  # FAILED, STOPPED
_STATES_SET = {
    CommitState.PENDING: "INPROGRESS",
    CommitState.SUCCESS: "SUCCESSFUL",
    CommitState.FAILURE: "FAILED",
}

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


class _BitbucketStatus(BaseModel):
    key: str
    state: str
    description: str | None = None

    def commit_status(self) -> CommitStatus:
        return CommitStatus(
            kind=StatusKind.STATUS,
            name=self.key,
            state=_COMMIT_STATES.get(self.state, CommitState.FAILURE),
            detail=f"{self.state}: {self.description or 'no description'}",
        )


class _BitbucketStatuses(BaseModel):
    values: list[_BitbucketStatus]


class BitbucketProvider(RestProvider):
    """`token`: an access token (sent as Bearer), or `username:app-password` / `email:api-token` (Basic)."""

    name = "Bitbucket"
    cloud_host = "bitbucket.org"
    cloud_api_url = BITBUCKET_API_URL

    @classmethod
    def api_token(cls, password: str, username: str | None) -> str:
        return f"{username}:{password}" if username and username not in _TOKEN_USERNAMES else password

    def _auth_headers(self, token: str) -> dict[str, str]:
        if ":" in token:
            return {"Authorization": f"Basic {base64.b64encode(token.encode()).decode()}"}
        return {"Authorization": f"Bearer {token}"}

    def _next_page(self, response: HttpResponse, document: Any, what: str) -> str | None:
        """Bitbucket's pages name the next one in the body."""
        next_page = document.get("next") if isinstance(document, dict) else None
        return self._on_this_api(next_page, what) if isinstance(next_page, str) else None

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

    def commit_statuses(self, repo_url: str, sha: str, kinds: frozenset[StatusKind]) -> list[CommitStatus]:
        if StatusKind.STATUS not in kinds:
            return []
        workspace, slug = repository_path(repo_url, self.name)
        what = f"statuses of commit {sha[:12]} in {workspace}/{slug}"
        path = f"{_repo(workspace, slug)}/commit/{quote(sha, safe='')}/statuses"
        # A key has one status: setting it again replaces it.
        return [
            status.commit_status()
            for page in self._pages(path, what, {"pagelen": "100"})
            for status in self._parse(_BitbucketStatuses, page, what).values
        ]

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatusUpdate) -> None:
        workspace, slug = repository_path(repo_url, self.name)
        what = f"setting status {status.name} on commit {sha[:12]} in {workspace}/{slug}"
        self._call(
            "POST",
            f"{_repo(workspace, slug)}/commit/{quote(sha, safe='')}/statuses/build",
            what,
            json_body={
                "key": status.name,
                "state": _STATES_SET[status.state],
                "name": status.name,
                "url": status.url,
                "description": status.description,
            },
        )


def _repo(workspace: str, slug: str) -> str:
    return f"/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"


def _bbql(value: str) -> str:
    """A string literal of Bitbucket's query language."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
