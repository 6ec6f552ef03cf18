"""The three fake hosts, each with what a test needs to play the reviewer or CI on it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promotions.gitproviders import CommitState, GitProvider, provider_for
from promotions.http import HttpClient
from promotions_local.fakes import FakeBitbucket, FakeGitHub, FakeGitLab

TOKEN = "provider-secret-token"


@dataclass
class Hosted:
    """One repository on one fake provider, and the provider adapter configured against it."""

    name: str
    fake: Any
    repo_url: str
    merge: Callable[[int], str]
    close: Callable[[int], None]
    # CI reporting on a commit: (sha, name, state in the host's words, description)
    report: Callable[[str, str, str, str | None], None]
    # The host's words for each state, as its CI reports them
    words: dict[CommitState, list[str]]
    token: str = TOKEN

    def provider(self, token: str | None = None) -> GitProvider:
        return provider_for(
            self.repo_url,
            provider=None,
            api_url=self.fake.api_url,
            token=token or self.token,
            http=HttpClient(),
        )


@pytest.fixture(scope="session")
def github_pull_shape(upstream_events: Path) -> dict:
    return json.loads((upstream_events / "github-pull-request-closed-merged.json").read_text())[
        "pull_request"
    ]


@pytest.fixture
def github(github_pull_shape) -> Iterator[Hosted]:
    with FakeGitHub(token=TOKEN, pull_request_shape=github_pull_shape, repositories=["acme/gitops"]) as fake:
        yield Hosted(
            "github",
            fake,
            "https://github.com/acme/gitops.git",
            merge=lambda number: fake.merge("acme/gitops", number),
            close=lambda number: fake.close("acme/gitops", number),
            report=lambda sha, name, state, description: fake.report_status(
                "acme/gitops", sha, name, state, description
            ),
            words={
                CommitState.PENDING: ["pending"],
                CommitState.SUCCESS: ["success"],
                CommitState.FAILURE: ["failure", "error"],
            },
        )


@pytest.fixture
def gitlab() -> Iterator[Hosted]:
    with FakeGitLab(token=TOKEN, projects=["acme/platform/gitops"]) as fake:
        yield Hosted(
            "gitlab",
            fake,
            "git@gitlab.com:acme/platform/gitops.git",
            merge=lambda iid: fake.merge("acme/platform/gitops", iid),
            close=lambda iid: fake.close("acme/platform/gitops", iid),
            report=lambda sha, name, state, description: fake.report_status(
                "acme/platform/gitops", sha, name, state, description
            ),
            words={
                CommitState.PENDING: ["created", "pending", "running", "manual"],
                CommitState.SUCCESS: ["success", "skipped"],
                CommitState.FAILURE: ["failed", "canceled"],
            },
        )


@pytest.fixture
def bitbucket() -> Iterator[Hosted]:
    with FakeBitbucket(token=TOKEN, repositories=["acme/gitops"]) as fake:
        yield Hosted(
            "bitbucket",
            fake,
            "https://bitbucket.org/acme/gitops.git",
            merge=lambda pull_id: fake.merge("acme/gitops", pull_id),
            close=lambda pull_id: fake.decline("acme/gitops", pull_id),
            report=lambda sha, name, state, description: fake.report_status(
                "acme/gitops", sha, name, state, description
            ),
            words={
                CommitState.PENDING: ["INPROGRESS"],
                CommitState.SUCCESS: ["SUCCESSFUL"],
                CommitState.FAILURE: ["FAILED", "STOPPED"],
            },
        )


@pytest.fixture(params=["github", "gitlab", "bitbucket"])
def hosted(request) -> Hosted:
    return request.getfixturevalue(request.param)
