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
from promotions.release.model import Release
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseStore
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
    ) -> GateStep:
        release = self._store.get(release_id)
        superseded = environment is not None and (
            release.environment(environment).status is EnvironmentStatus.SUPERSEDED
        )
        if stage is Stage.POST and superseded:
            # A newer release promoted the environment and verifies it: this one wrote nothing to check.
            return GateStep(next="done")
        configuration = self._configs.at(release.config_revision)
        checks = _checks_for(configuration, release, environment, stage, self._git_credentials_secret)
        if not checks:
            return GateStep(next="done")
        result = evaluate_checks(
            checks,
            self._context(configuration, release, environment, stage),
            self._services,
            progress=PhaseProgress.model_validate(progress) if progress else None,
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
                raise PromotionTimedOut(f"{result.check}: {outcome.reason}")
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


def _checks_for(
    configuration: Configuration,
    release: Release,
    environment: str | None,
    stage: Stage,
    git_credentials_secret: str | None,
) -> tuple[PromotionCheck, ...]:
    flow = configuration.flows[release.flow]
    if stage is Stage.RELEASE_START:
        return configuration.checks_named(flow.hooks.on_start)
    if stage is Stage.RELEASE_SUCCESS:
        return configuration.checks_named(flow.hooks.on_success)
    if stage is Stage.RELEASE_FAILED:
        return configuration.checks_named(flow.hooks.on_fail)
    if environment is None:
        raise ValueError(f"stage {stage.value} belongs to an environment; none was given")
    step = flow.step(environment)
    if step is None:
        raise ValueError(f"flow {flow.name} has no step for environment {environment}")
    if stage is Stage.FAILED:
        return configuration.checks_named(step.hooks.on_fail)
    policy = configuration.policy_for(release.product, environment, release.flow)
    if stage is Stage.PRE:
        return configuration.checks_named(step.hooks.on_start) + configuration.checks_named(policy.pre_action)
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
        merges
        + ((verification,) if verification is not None else ())
        + configuration.checks_named(policy.post_action)
        + configuration.checks_named(step.hooks.on_success)
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
