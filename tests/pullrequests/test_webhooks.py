"""Pull request webhooks reduced to PullRequestEvent: the shared GitHub recording and GitLab's hook shape."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from promotions.pullrequests import (
    PullRequestEvent,
    PullRequestEventError,
    PullRequestStatus,
    pull_request_event,
)


@pytest.fixture(scope="module")
def github_delivery(shared_events: Path) -> tuple[dict[str, str], dict]:
    headers = {}
    for line in (shared_events / "github-pull-request-closed-merged.headers.txt").read_text().splitlines():
        name, _, value = line.partition("\t")
        headers[name.strip().lower()] = value.strip()
    return headers, json.loads((shared_events / "github-pull-request-closed-merged.json").read_text())


def test_github_merged_pull_request(github_delivery):
    headers, payload = github_delivery

    event = pull_request_event("github", headers["x-github-event"], payload)

    assert event == PullRequestEvent(
        repo_url="https://github.com/ailisp/gcbapp-buildconfig-example.git",
        number=3,
        status=PullRequestStatus.MERGED,
        merge_commit_sha="a21683865c088b5fe1906cf6552d15a285a4986d",
    )


def test_github_closed_without_merge_and_still_open(github_delivery):
    _, recorded = github_delivery
    closed = copy.deepcopy(recorded)
    closed["pull_request"].update(merged=False, merged_at=None)
    reopened = copy.deepcopy(recorded)
    reopened["action"] = "reopened"
    reopened["pull_request"].update(state="open", merged=False, merged_at=None, closed_at=None)

    closed_event = pull_request_event("github", "pull_request", closed)
    open_event = pull_request_event("github", "pull_request", reopened)

    assert (closed_event.status, closed_event.merge_commit_sha) == (PullRequestStatus.CLOSED, None)
    # An open pull request's merge_commit_sha is GitHub's test merge: not a commit on the base branch.
    assert (open_event.status, open_event.merge_commit_sha) == (PullRequestStatus.OPEN, None)


def test_other_events_are_not_pull_request_events(shared_events, github_delivery):
    push = json.loads((shared_events / "github-push.json").read_text())

    assert pull_request_event("github", "push", push) is None
    assert pull_request_event("bitbucket", "pullrequest:fulfilled", github_delivery[1]) is None


def test_malformed_github_payload_names_the_field(github_delivery):
    payload = copy.deepcopy(github_delivery[1])
    del payload["pull_request"]["number"]

    with pytest.raises(PullRequestEventError, match=r"pull_request\.number"):
        pull_request_event("github", "pull_request", payload)


def gitlab_merge_request_hook(**attributes) -> dict:
    """A Merge Request Hook body trimmed to the documented fields the engine and GitLab's own docs care about
    (shape as in drone/go-scm's recorded scm/driver/gitlab/testdata/webhooks/pull_request_merge.json)."""
    object_attributes = {
        "id": 6632669,
        "iid": 1,
        "source_branch": "feature",
        "target_branch": "master",
        "state": "merged",
        "merge_commit_sha": "78a76ee6b4992a6baf64c59fc4c44c7323d60438",
        "url": "https://gitlab.com/gitlab-org/hello-world/merge_requests/1",
        "last_commit": {"id": "c4c79227ed610f1151f05bbc5be33b4f340d39c8", "message": "update readme\n"},
        "action": "merge",
    }
    object_attributes.update(attributes)
    return {
        "object_kind": "merge_request",
        "project": {
            "id": 4861503,
            "path_with_namespace": "gitlab-org/hello-world",
            "web_url": "https://gitlab.com/gitlab-org/hello-world",
            "git_http_url": "https://gitlab.com/gitlab-org/hello-world.git",
        },
        "object_attributes": object_attributes,
    }


def test_gitlab_merged_merge_request():
    event = pull_request_event("gitlab", "Merge Request Hook", gitlab_merge_request_hook())

    assert event == PullRequestEvent(
        repo_url="https://gitlab.com/gitlab-org/hello-world.git",
        number=1,
        status=PullRequestStatus.MERGED,
        merge_commit_sha="78a76ee6b4992a6baf64c59fc4c44c7323d60438",
    )


def test_gitlab_fast_forward_merge_reports_the_head_commit():
    payload = gitlab_merge_request_hook(merge_commit_sha=None)

    event = pull_request_event("gitlab", "Merge Request Hook", payload)

    assert event.merge_commit_sha == "c4c79227ed610f1151f05bbc5be33b4f340d39c8"


@pytest.mark.parametrize(
    ("state", "status"),
    # locked: GitLab holds the merge request only while it performs the merge.
    [
        ("closed", PullRequestStatus.CLOSED),
        ("opened", PullRequestStatus.OPEN),
        ("locked", PullRequestStatus.OPEN),
    ],
)
def test_gitlab_unmerged_states_have_no_merge_commit(state, status):
    event = pull_request_event("gitlab", "Merge Request Hook", gitlab_merge_request_hook(state=state))

    assert (event.status, event.merge_commit_sha) == (status, None)


def test_malformed_gitlab_payload_names_the_field():
    with pytest.raises(PullRequestEventError, match=r"object_attributes\.state"):
        pull_request_event("gitlab", "Merge Request Hook", gitlab_merge_request_hook(state="frozen"))
