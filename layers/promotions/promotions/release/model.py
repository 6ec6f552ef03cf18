"""A release: one run of a promotion flow for one product version."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from promotions.actions import PolicyAction
from promotions.release.status import EnvironmentStatus, ReleaseStatus


class SourceRevision(BaseModel):
    """The pushed commit the release promotes from, in the trigger environment's repository."""

    model_config = ConfigDict(frozen=True)

    repo_url: str
    branch: str
    commit: str
    message: str = ""
    author: str = ""
    # Who may not approve their own change (promotions.release.approvals) is found by it.
    author_email: str = ""


class PullRequestRecord(BaseModel):
    """A pull request the `pr` action opened: its environment is promoted once it is merged."""

    model_config = ConfigDict(frozen=True)

    # The provider's name as people read it: GitHub, GitLab, Bitbucket.
    provider: str
    repo_url: str
    number: int
    url: str
    # The promotion's branch, holding the edits, and the branch the environment's applications track.
    branch: str
    target_branch: str


class CheckStage(StrEnum):
    """Where a check runs in an environment's step, in the order the step runs them."""

    ON_START = "onStart"  # the step's onStart hooks
    PRE_ACTION = "preAction"
    PULL_REQUEST = "pullRequest"  # the merge of a `pr` promotion's pull requests
    VERIFICATION = "verification"  # deploy verification (argoCdHealth)
    POST_ACTION = "postAction"
    ON_SUCCESS = "onSuccess"  # the step's onSuccess hooks
    ON_FAIL = "onFail"  # the step's onFail hooks

    @property
    def is_hook(self) -> bool:
        return self in (CheckStage.ON_START, CheckStage.ON_SUCCESS, CheckStage.ON_FAIL)


class CheckState(StrEnum):
    """A check's latest outcome (promotions.checks.outcomes), as people read it."""

    PASSED = "passed"
    FAILED = "failed"
    # Asked to be evaluated again later (a soak time, a window, a polled check), or waiting for people.
    WAITING = "waiting"
    # Step Functions runs what it asked for (a CodeBuild project, a state machine).
    RUNNING = "running"


class CheckRecord(BaseModel):
    """The latest evaluation of one of an environment's checks: a later one replaces it."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    stage: CheckStage
    # Its place among the checks its gate evaluates in order (the step's onStart hooks and preAction checks are
    # one gate; pull requests, verification, postAction and onSuccess hooks another).
    position: int
    outcome: CheckState
    reason: str | None = None
    first_evaluated_at: datetime
    last_evaluated_at: datetime
    attempts: int
    # The log stream of the function that last evaluated it, where the deployment knows one.
    logs_url: str | None = None


class ApprovalRecord(BaseModel):
    """One person's decision on an environment's approval, or how an approval ended without one."""

    model_config = ConfigDict(frozen=True)

    # None when nobody decided: the approval timed out, or the release was terminated.
    approver: str | None
    # approved, rejected, timed out, withdrawn.
    decision: str
    # None for an approval counted towards a quorum not reached yet.
    at: datetime | None
    reason: str | None = None


class FailureKind(StrEnum):
    CHECK = "check"
    APPLICATION_HEALTH = "application-health"  # Argo CD's health or sync, in deploy verification
    GIT = "git"  # a push, a fetch, a Git host's pull request API
    APPROVAL = "approval"  # rejected, or timed out
    HOOK = "hook"
    TERMINATED = "terminated"
    OTHER = "other"


class EnvironmentFailure(BaseModel):
    """Why an environment failed or was terminated, at a glance."""

    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    # The check or hook that said no, when one did.
    check: str | None = None
    message: str
    logs_url: str | None = None


class EnvironmentRun(BaseModel):
    name: str
    depends_on: tuple[str, ...] = ()
    status: EnvironmentStatus = EnvironmentStatus.PENDING
    # For a `pr` promotion, None until its pull request is merged; then the merge commit.
    commit: str | None = None
    commit_message: str | None = None
    committed_at: datetime | None = None
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    pull_requests: tuple[PullRequestRecord, ...] = ()
    # Every check and hook the step evaluated, in the order it runs them, each with its latest outcome.
    checks: tuple[CheckRecord, ...] = ()
    # Oldest first.
    approvals: tuple[ApprovalRecord, ...] = ()
    failure: EnvironmentFailure | None = None


class AuditEntry(BaseModel):
    """One state-changing call on the release: who made it, when, and what it asked for."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    # The caller as its credentials name it: an IAM principal's ARN, a JWT subject, the local token's holder.
    actor: str
    # The verb: trigger, promote, retry, terminate, rollback, approve, reject.
    action: str
    detail: str = ""
    # Whether the call was let through (promotions.release.permissions), and the rule that allowed it or the
    # one that was missing. Entries written before permissions were checked say allowed, naming no rule.
    outcome: Literal["allowed", "refused"] = "allowed"
    permission: str = ""


class Release(BaseModel):
    id: str
    product: str
    flow: str
    version: str
    trigger_environment: str
    source: SourceRevision
    config_revision: str
    status: ReleaseStatus = ReleaseStatus.QUEUED
    reason: str | None = None
    created_at: datetime
    environments: list[EnvironmentRun]
    # PROMOTION_CONTEXT: what hooks and checks exported, handed to every later hook and check.
    promotion_context: dict[str, Any] = Field(default_factory=dict)
    # Oldest first: what people did to the release through the API.
    audit: tuple[AuditEntry, ...] = ()
    # A rollback restores this earlier release's properties, and may move its environment backwards.
    rollback_of: str | None = None
    # The action a person chose for a promotion of theirs, over the policy's.
    action: PolicyAction | None = None

    def environment(self, name: str) -> EnvironmentRun:
        for run in self.environments:
            if run.name == name:
                return run
        raise KeyError(f"release {self.id} has no environment {name!r}")

    @property
    def promoted_environments(self) -> list[EnvironmentRun]:
        """The environments the flow writes to: all but the trigger environment."""
        return [run for run in self.environments if run.name != self.trigger_environment]


class ReleaseSummary(BaseModel):
    """A release as a list shows it: without its environments."""

    model_config = ConfigDict(frozen=True)

    id: str
    product: str
    flow: str
    version: str
    trigger_environment: str
    status: ReleaseStatus
    reason: str | None = None
    created_at: datetime


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def release_id_for(product: str, flow: str, source: SourceRevision, request: str = "") -> str:
    """The same push of the same product through the same flow always names the same release. A release a
    person asks for (a trigger, a promotion) passes its request's key: each request is a release of its own,
    and the same request made again is the same release.

    It doubles as the Step Functions execution name (at most 80 characters of [A-Za-z0-9_-]), which makes
    a repeated start of the same release a no-op on AWS as well as in DynamoDB.
    """
    parts = (product, flow, source.repo_url, source.branch, source.commit)
    digest = hashlib.sha256("\0".join((*parts, request) if request else parts).encode()).hexdigest()[:10]
    # 40 + 1 + 12 + 1 + 10 = 64 characters, leaving room for a retry's "-retry-N" in the execution name.
    readable = _UNSAFE.sub("-", product).strip("-")[:40] or "release"
    return f"{readable}-{source.commit[:12]}-{digest}"
