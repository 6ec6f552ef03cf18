"""Pull request webhooks (GitHub `pull_request`, GitLab `Merge Request Hook`): a merge resumes a promotion
now.

Bitbucket's pull request events abbreviate the merge commit hash, so Bitbucket pull requests are followed by
polling `PullRequestProvider.state` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, ValidationError

from .errors import PullRequestEventError
from .github import GitHubPull
from .gitlab import GitLabMergeRequest
from .models import PullRequestEvent


class _GitHubRepository(BaseModel):
    clone_url: str


class _GitHubPullRequestPayload(BaseModel):
    pull_request: GitHubPull
    repository: _GitHubRepository


class _GitLabProject(BaseModel):
    url: str = Field(validation_alias=AliasChoices("git_http_url", "web_url"))


class _GitLabMergeRequestPayload(BaseModel):
    project: _GitLabProject
    object_attributes: GitLabMergeRequest


def pull_request_event(provider: str, event: str, payload: Mapping[str, Any]) -> PullRequestEvent | None:
    """The pull request a webhook delivery reports on; None when the delivery is about something else.

    `event` is the provider's event header: `X-GitHub-Event` (`pull_request`) or `X-Gitlab-Event`
    (`Merge Request Hook`).
    """
    try:
        if provider == "github" and event == "pull_request":
            github = _GitHubPullRequestPayload.model_validate(payload)
            state = github.pull_request.state_now()
            repo_url = github.repository.clone_url
        elif provider == "gitlab" and event == "Merge Request Hook":
            gitlab = _GitLabMergeRequestPayload.model_validate(payload)
            state = gitlab.object_attributes.state_now()
            repo_url = gitlab.project.url
        else:
            return None
    except ValidationError as error:
        problem = error.errors()[0]
        location = ".".join(str(part) for part in problem["loc"])
        raise PullRequestEventError(f"{provider} {event!r} payload: {location}: {problem['msg']}") from None
    return PullRequestEvent(
        repo_url=repo_url, number=state.number, status=state.status, merge_commit_sha=state.merge_commit_sha
    )
