"""GitLab (gitlab.com and self-managed) merge requests over the REST API v4."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasChoices, AliasPath, BaseModel, Field, RootModel

from .models import PullRequest, PullRequestState, PullRequestStatus
from .rest import RestProvider, repository_path

GITLAB_API_URL = "https://gitlab.com/api/v4"

_STATUS = {
    "opened": PullRequestStatus.OPEN,
    "locked": PullRequestStatus.OPEN,  # held only while GitLab performs the merge
    "merged": PullRequestStatus.MERGED,
    "closed": PullRequestStatus.CLOSED,
}


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


class GitLabProvider(RestProvider):
    name = "GitLab"

    def _auth_headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self._token}

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


def _project(repo_url: str) -> str:
    return "/".join(repository_path(repo_url, GitLabProvider.name, max_segments=20))


def _path(project: str) -> str:
    # GitLab takes the project's full path, URL-encoded as one segment, wherever it takes a project id.
    return f"/projects/{quote(project, safe='')}"


class _GitLabMergeRequests(RootModel[list[GitLabMergeRequest]]):
    pass
