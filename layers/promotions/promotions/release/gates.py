"""The gates of a promotion: the hooks and checks each stage runs, evaluated one step at a time.

The state machine calls `Gates.evaluate` for a stage until it answers done; in between it waits, or runs
the CodeBuild project or state machine a check asked for, and hands back the progress and the
integration's result. A check that says no fails the stage with GateFailed, which the state machine
catches by name. Whatever a hook or check exports as PROMOTION_CONTEXT is merged into the release and
reaches every later hook and check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from aws_lambda_powertools import Logger

from promotions.checks import (
    ApplicationRef,
    CheckContext,
    CheckOutcome,
    CheckServices,
    CommitRef,
    Failed,
    Passed,
    PhaseProgress,
    PromotionCheck,
    Run,
    Wait,
    evaluate_checks,
)
from promotions.checks.kind import describe_duration
from promotions.config import Configuration
from promotions.config.repository import ConfigRepository
from promotions.release.builtin_checks import pull_request_check, verification_check
from promotions.release.model import CheckStage, CheckState, Release
from promotions.release.status import EnvironmentStatus
from promotions.release.store import CheckEvaluation, ReleaseStore
from promotions.release.termination import PromotionTimedOut

logger = Logger(child=True)


class Stage(StrEnum):
    RELEASE_START = "releaseStart"  # the flow's onStart hooks
    PRE = "pre"  # the step's onStart hooks, then the policy's preAction
    # the merge of a `pr` promotion's pull requests, deploy verification, the policy's postAction, then the
    # step's onSuccess hooks
    POST = "post"
    FAILED = "failed"  # the step's onFail hooks
    RELEASE_SUCCESS = "releaseSuccess"  # the flow's onSuccess hooks
    RELEASE_FAILED = "releaseFailed"  # the flow's onFail hooks

    @property
    def reports_failure(self) -> bool:
        """onFail hooks run because something failed already; their own failure is logged, not raised."""
        return self in (Stage.FAILED, Stage.RELEASE_FAILED)


class GateFailed(RuntimeError):
    """A hook or check said no. The state machine catches this error by its name."""


@dataclass(frozen=True)
class GateStep:
    """What the state machine does next."""

    next: Literal["done", "wait", "codebuild", "stateMachine", "approval"]
    wait_seconds: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StagedCheck:
    """A check, and where in the environment's step it runs."""

    stage: CheckStage
    check: PromotionCheck


# What a check that asked Step Functions to run something is doing meanwhile.
_RUNNING = {
    "codebuild": (CheckState.RUNNING, "its CodeBuild build runs"),
    "stateMachine": (CheckState.RUNNING, "its state machine runs"),
    "approval": (CheckState.WAITING, "waits for people to approve"),
}


class Gates:
    def __init__(
        self,
        store: ReleaseStore,
        configs: ConfigRepository,
        services: CheckServices,
        commit_author: str,
        *,
        git_credentials_secret: str | None = None,
        release_url: Callable[[str], str | None] = lambda release_id: None,
    ) -> None:
        self._store = store
        self._configs = configs
        self._services = services
        self._commit_author = commit_author
        # Where pullRequestMerged checks find their API token (promotions.gitproviders.apis).
        self._git_credentials_secret = git_credentials_secret
        self._release_url = release_url

    def evaluate(
        self,
        release_id: str,
        environment: str | None,
        stage: Stage,
        *,
        progress: Mapping[str, Any] | None = None,
        integration_result: Mapping[str, Any] | None = None,
        logs_url: str | None = None,
    ) -> GateStep:
        """`logs_url` locates the log of the function evaluating; each check's record keeps it."""
        release = self._store.get(release_id)
        superseded = environment is not None and (
            release.environment(environment).status is EnvironmentStatus.SUPERSEDED
        )
        if stage is Stage.POST and superseded:
            # A newer release promoted the environment and verifies it: this one wrote nothing to check.
            return GateStep(next="done")
        configuration = self._configs.at(release.config_revision)
        staged = _checks_for(configuration, release, environment, stage, self._git_credentials_secret)
        if not staged:
            return GateStep(next="done")
        checks = tuple(entry.check for entry in staged)
        before = PhaseProgress.model_validate(progress) if progress else PhaseProgress()
        result = evaluate_checks(
            checks,
            self._context(configuration, release, environment, stage),
            self._services,
            progress=before,
            integration_result=integration_result,
        )
        while result.promoted_commit is not None:
            # A merged pull request: its merge commit is the environment's commit for every later check.
            if environment is None:
                raise ValueError(f"check {result.check} learnt a promotion commit outside any environment")
            message = release.environment(environment).commit_message
            self._store.record_commit(release_id, environment, result.promoted_commit, message)
            logger.info(
                "promotion commit learnt", extra={"check": result.check, "commit": result.promoted_commit}
            )
            release = self._store.get(release_id)
            result = evaluate_checks(
                checks,
                self._context(configuration, release, environment, stage),
                self._services,
                progress=result.progress,
            )
        if result.context_update:
            self._store.merge_promotion_context(release_id, result.context_update)
        saved = result.progress.model_dump(mode="json", by_alias=True)
        outcome = result.outcome
        if isinstance(outcome, Wait) and not stage.reports_failure:
            # Codefresh's Flow Timeout: no gate of the release waits past promotionTimeoutLimit from its start.
            timeout = configuration.flows[release.flow].timeout
            outcome = outcome.within(
                release.created_at + timeout - self._services.now(),
                f"the release ran past its flow's promotionTimeoutLimit of {describe_duration(timeout)}",
            )
            if isinstance(outcome, Failed):
                # Not this gate's failure: the whole release is terminated, as a person would terminate it.
                self._record(release_id, environment, staged, before, result.progress, outcome, logs_url)
                raise PromotionTimedOut(f"{result.check}: {outcome.reason}")
        self._record(release_id, environment, staged, before, result.progress, outcome, logs_url)
        if isinstance(outcome, Passed):
            return GateStep(next="done", progress=saved)
        if isinstance(outcome, Wait):
            logger.info(
                "gate waits",
                extra={
                    "stage": stage.value,
                    "check": result.check,
                    "reason": outcome.reason,
                    "seconds": outcome.seconds,
                },
            )
            return GateStep(next="wait", wait_seconds=outcome.seconds, progress=saved)
        if isinstance(outcome, Run) and outcome.integration == "approval":
            left = release.created_at + configuration.flows[release.flow].timeout - self._services.now()
            parameters = _approval_parameters(checks, result.check, outcome.parameters, left)
            return GateStep(next="approval", parameters=parameters, progress=saved)
        if isinstance(outcome, Run):
            return GateStep(next=outcome.integration, parameters=dict(outcome.parameters), progress=saved)
        assert isinstance(outcome, Failed)
        reason = f"{result.check}: {outcome.reason}"
        if stage.reports_failure:
            logger.error("an onFail hook failed", extra={"stage": stage.value, "reason": reason})
            return GateStep(next="done", progress=saved)
        raise GateFailed(reason)

    def _record(
        self,
        release_id: str,
        environment: str | None,
        staged: tuple[StagedCheck, ...],
        before: PhaseProgress,
        after: PhaseProgress,
        outcome: CheckOutcome,
        logs_url: str | None,
    ) -> None:
        """Record the latest outcome of each of the environment's checks this evaluation reached: those that
        passed in it, and the one that decided it unless that passed too."""
        if environment is None:
            return
        now = self._services.now()
        reached = list(range(len(before.passed), len(after.passed)))
        if not isinstance(outcome, Passed):
            reached.append(len(after.passed))
        for position in reached:
            entry = staged[position]
            resumed = entry.check.name == before.current and before.current_since is not None
            if position == len(after.passed) and after.current_since is not None:
                first_evaluated_at = after.current_since
            elif resumed and before.current_since is not None:
                first_evaluated_at = before.current_since
            else:
                first_evaluated_at = now
            state, reason = _state_of(outcome if position == len(after.passed) else Passed())
            self._store.record_check(
                release_id,
                environment,
                CheckEvaluation(
                    name=entry.check.name,
                    kind=entry.check.kind,
                    stage=entry.stage,
                    position=position,
                    outcome=state,
                    reason=reason,
                    first_evaluated_at=first_evaluated_at,
                    first=not resumed,
                    evaluated_at=now,
                    logs_url=logs_url,
                ),
            )

    def _context(
        self, configuration: Configuration, release: Release, environment: str | None, stage: Stage
    ) -> CheckContext:
        trigger = CommitRef(
            sha=release.source.commit, author=release.source.author, message=release.source.message
        )
        run = release.environment(environment) if environment else None
        commit: CommitRef | None = trigger
        if stage is Stage.POST or (stage is Stage.FAILED and run is not None and run.commit):
            commit = (
                CommitRef(
                    sha=run.commit,
                    author=self._commit_author,
                    message=run.commit_message or "",
                    date=run.committed_at,
                )
                if run is not None and run.commit
                else None
            )
        app = None
        if environment is not None:
            apps = configuration.applications_of(release.product, environment)
            if apps:
                first = apps[0]
                app = ApplicationRef(
                    name=first.name,
                    namespace=first.namespace or "",
                    repo_url=first.repo_url,
                    branch=first.target_revision,
                    path=first.path,
                )
        success_times = {
            other.name: other.finished_at
            for other in release.environments
            if other.status is EnvironmentStatus.SUCCESSFUL and other.finished_at is not None
        }
        # The trigger environment runs the version from the moment it was pushed there.
        success_times.setdefault(release.trigger_environment, release.created_at)
        error = None
        if stage is Stage.FAILED and run is not None:
            error = run.reason
        elif stage is Stage.RELEASE_FAILED:
            error = release.reason
        return CheckContext(
            release_id=release.id,
            release_url=self._release_url(release.id),
            product=release.product,
            version=release.version,
            flow=release.flow,
            environment=environment,
            app=app,
            commit=commit,
            source_commit=release.source.commit,
            source_repo_url=release.source.repo_url,
            error_message=error,
            failed_environments=tuple(
                r.name for r in release.environments if r.status is EnvironmentStatus.FAILED
            ),
            promotion_context=release.promotion_context,
            environment_success_times=success_times,
        )


def _state_of(outcome: CheckOutcome) -> tuple[CheckState, str | None]:
    if isinstance(outcome, Passed):
        return CheckState.PASSED, None
    if isinstance(outcome, Failed):
        return CheckState.FAILED, outcome.reason
    if isinstance(outcome, Wait):
        return CheckState.WAITING, outcome.reason
    return _RUNNING[outcome.integration]


def _staged(stage: CheckStage, checks: tuple[PromotionCheck, ...]) -> tuple[StagedCheck, ...]:
    return tuple(StagedCheck(stage, check) for check in checks)


def _checks_for(
    configuration: Configuration,
    release: Release,
    environment: str | None,
    stage: Stage,
    git_credentials_secret: str | None,
) -> tuple[StagedCheck, ...]:
    flow = configuration.flows[release.flow]
    if stage is Stage.RELEASE_START:
        return _staged(CheckStage.ON_START, configuration.checks_named(flow.hooks.on_start))
    if stage is Stage.RELEASE_SUCCESS:
        return _staged(CheckStage.ON_SUCCESS, configuration.checks_named(flow.hooks.on_success))
    if stage is Stage.RELEASE_FAILED:
        return _staged(CheckStage.ON_FAIL, configuration.checks_named(flow.hooks.on_fail))
    if environment is None:
        raise ValueError(f"stage {stage.value} belongs to an environment; none was given")
    step = flow.step(environment)
    if step is None:
        raise ValueError(f"flow {flow.name} has no step for environment {environment}")
    if stage is Stage.FAILED:
        return _staged(CheckStage.ON_FAIL, configuration.checks_named(step.hooks.on_fail))
    policy = configuration.policy_for(release.product, environment, release.flow)
    if stage is Stage.PRE:
        return _staged(CheckStage.ON_START, configuration.checks_named(step.hooks.on_start)) + _staged(
            CheckStage.PRE_ACTION, configuration.checks_named(policy.pre_action)
        )
    verification = verification_check(
        configuration.environments[environment], configuration.applications_of(release.product, environment)
    )
    merges = tuple(
        pull_request_check(
            pull.repo_url,
            pull.number,
            choice=configuration.provider_choice_for(pull.repo_url),
            credentials=git_credentials_secret,
            timeout=flow.timeout,
        )
        for pull in release.environment(environment).pull_requests
    )
    return (
        _staged(CheckStage.PULL_REQUEST, merges)
        + _staged(CheckStage.VERIFICATION, (verification,) if verification is not None else ())
        + _staged(CheckStage.POST_ACTION, configuration.checks_named(policy.post_action))
        + _staged(CheckStage.ON_SUCCESS, configuration.checks_named(step.hooks.on_success))
    )


def _approval_parameters(
    checks: tuple[PromotionCheck, ...], name: str | None, asked: Mapping[str, Any], left: timedelta
) -> dict[str, Any]:
    """An approval waits on its task token for the check's timeout, and never past the flow's
    promotionTimeoutLimit; the state machine's task times out then (promotions.release.approvals)."""
    check = next(check for check in checks if check.name == name)
    limit = min(check.timeout, left) if check.timeout is not None else left
    seconds = max(60, math.ceil(limit.total_seconds()))
    return {
        **asked,
        "check": check.name,
        "timeoutSeconds": seconds,
        "timeoutMinutes": math.ceil(seconds / 60),
    }
