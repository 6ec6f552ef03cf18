"""GitLab (gitlab.com and self-managed) over the REST API v4: merge requests and commit statuses."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasChoices, AliasPath, BaseModel, Field, RootModel

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

GITLAB_API_URL = "https://gitlab.com/api/v4"

_STATUS = {
    "opened": PullRequestStatus.OPEN,
    "locked": PullRequestStatus.OPEN,  # held only while GitLab performs the merge
    "merged": PullRequestStatus.MERGED,
    "closed": PullRequestStatus.CLOSED,
}
_COMMIT_STATES = {
    "success": CommitState.SUCCESS,
    "skipped": CommitState.SUCCESS,
}  # and the unfinished: pending
_FAILED = frozenset({"failed", "canceled"})
# A release in progress shows as running, as a pipeline job does.
_STATES_SET = {CommitState.PENDING: "running", CommitState.SUCCESS: "success", CommitState.FAILURE: "failed"}


class GitLabMergeRequest(BaseModel):
    """A merge request as the REST API returns it and the Merge Request Hook's `object_attributes` hold it."""

    iid: int
    web_url: str = Field(validation_alias=AliasChoices("web_url", "url"))
    state: Literal["opened", "locked", "merged", "closed"]
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    head_sha: str | None = Field(
        default=None, validation_alias=AliasChoices("sha", AliasPath("last_commit", "id"))
    )

    @property
    def status(self) -> PullRequestStatus:
        return _STATUS[self.state]

    @property
    def merged_commit(self) -> str | None:
        """The commit the target branch received: the merge commit, else the squash commit, else (fast-forward
        merge, which makes neither) the merge request's own head."""
        if self.status is not PullRequestStatus.MERGED:
            return None
        return self.merge_commit_sha or self.squash_commit_sha or self.head_sha

    def pull_request(self) -> PullRequest:
        return PullRequest(number=self.iid, url=self.web_url)

    def state_now(self) -> PullRequestState:
        return PullRequestState(
            number=self.iid, status=self.status, merge_commit_sha=self.merged_commit, url=self.web_url
        )


class _GitLabStatus(BaseModel):
    """A commit status as GitLab lists it; a pipeline job is one too."""

    id: int
    name: str
    status: str
    description: str | None = None
    allow_failure: bool = False

    def commit_status(self) -> CommitStatus:
        if self.status in _FAILED:
            state = CommitState.SUCCESS if self.allow_failure else CommitState.FAILURE
        else:
            state = _COMMIT_STATES.get(self.status, CommitState.PENDING)
        return CommitStatus(
            kind=StatusKind.STATUS,
            name=self.name,
            state=state,
            detail=f"{self.status}: {self.description or 'no description'}",
        )


class _GitLabStatuses(RootModel[list[_GitLabStatus]]):
    pass


class GitLabProvider(RestProvider):
    name = "GitLab"
    cloud_host = "gitlab.com"
    cloud_api_url = GITLAB_API_URL
    self_hosted_api_path = "/api/v4"

    @classmethod
    def recognises(cls, host: str) -> bool:
        return host == cls.cloud_host or host.startswith("gitlab.")

    def _auth_headers(self, token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token}

    def _error_message(self, document: Any) -> str | None:
        if not isinstance(document, dict):
            return None
        message = document.get("message", document.get("error"))
        if isinstance(message, list):
            return "; ".join(str(item) for item in message)
        if isinstance(message, dict):  # field validation: {"source_branch": ["is invalid"]}
            return "; ".join(f"{field} {' '.join(map(str, problems))}" for field, problems in message.items())
        return message if isinstance(message, str) else None

    def open(
        self, repo_url: str, source_branch: str, target_branch: str, title: str, body: str
    ) -> PullRequest:
        project = _project(repo_url)
        what = f"opening a merge request {source_branch} -> {target_branch} in {project}"
        document = self._call(
            "POST",
            f"{_path(project)}/merge_requests",
            what,
            json_body={
                "source_branch": source_branch,
                "target_branch": target_branch,
                "title": title,
                "description": body,
            },
        )
        return self._parse(GitLabMergeRequest, document, what).pull_request()

    def state(self, repo_url: str, number: int) -> PullRequestState:
        project = _project(repo_url)
        what = f"merge request !{number} in {project}"
        document = self._call("GET", f"{_path(project)}/merge_requests/{number}", what)
        return self._parse(GitLabMergeRequest, document, what).state_now()

    def find_open(self, repo_url: str, source_branch: str, target_branch: str) -> PullRequest | None:
        project = _project(repo_url)
        what = f"open merge requests {source_branch} -> {target_branch} in {project}"
        query = {"state": "opened", "source_branch": source_branch, "target_branch": target_branch}
        document = self._call("GET", f"{_path(project)}/merge_requests", what, query=query)
        merge_requests = self._parse(_GitLabMergeRequests, document, what).root
        # GitLab allows one open merge request per source and target branch.
        return merge_requests[0].pull_request() if merge_requests else None

    def commit_statuses(self, repo_url: str, sha: str, kinds: frozenset[StatusKind]) -> list[CommitStatus]:
        if StatusKind.STATUS not in kinds:
            return []
        project = _project(repo_url)
        what = f"statuses of commit {sha[:12]} in {project}"
        path = f"{_path(project)}/repository/commits/{quote(sha, safe='')}/statuses"
        statuses = [
            status
            for page in self._pages(path, what, {"per_page": "100"})
            for status in self._parse(_GitLabStatuses, page, what).root
        ]
        return [status.commit_status() for status in latest_by_name(statuses)]

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatusUpdate) -> None:
        project = _project(repo_url)
        what = f"setting status {status.name} on commit {sha[:12]} in {project}"
        state = _STATES_SET[status.state]
        response = self._send(
            "POST",
            self._url(f"{_path(project)}/statuses/{quote(sha, safe='')}", None),
            what,
            json_body={
                "state": state,
                "name": status.name,
                "target_url": status.url,
                "description": status.description,
            },
        )
        # An unfinished status cannot move to the state it is in (a retried call): it already says so.
        if response.status == 400 and re.search(
            rf"Cannot transition status via :\w+ from :{state}\b", self._reason(response)
        ):
            return
        self._document(response, what)


def _project(repo_url: str) -> str:
    return "/".join(repository_path(repo_url, GitLabProvider.name, max_segments=20))


def _path(project: str) -> str:
    # GitLab takes the project's full path, URL-encoded as one segment, wherever it takes a project id.
    return f"/projects/{quote(project, safe='')}"


class _GitLabMergeRequests(RootModel[list[GitLabMergeRequest]]):
    pass
