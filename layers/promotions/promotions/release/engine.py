"""The release's life cycle, as the state machine drives it: begin, gate, complete, finish.

Each environment's Map iteration parks on a task token until its dependencies are decided. Whoever
changes an environment's outcome (or parks a new token) re-reads the release and answers every parked
token whose fate is now known. The first party to record a decision for a token owns it; a party that
finds a decision recorded but not yet delivered delivers it again, so a crash between deciding and
answering cannot strand an iteration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from promotions.release.errors import ReleaseNotRetryable
from promotions.release.failures import StepError, failure_of
from promotions.release.model import EnvironmentFailure, EnvironmentRun, FailureKind, Release
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.store import ReleaseStore

logger = Logger(child=True)

PROCEED = "proceed"
SKIP = "skip"
# A dependency was superseded by a newer release: the environment must not promote this release's version.
SUPERSEDE = "supersede"


# The error a parked environment's task fails with when the release failed before it could start; the
# state machine catches it by this name.
NOT_STARTED_ERROR = "EnvironmentNotStarted"


# Once a release is ending (Terminating) or ended, nothing moves it back to Running.
_ENDING = (ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED, ReleaseStatus.TERMINATING, ReleaseStatus.TERMINATED)


class TaskTokens(Protocol):
    def answer(self, token: str, output: Mapping[str, Any]) -> None:
        """Deliver a task's output; a token that was already answered or expired is not an error."""

    def refuse(self, token: str, error: str, cause: str) -> None:
        """Fail a task with a named error; a token that was already answered or expired is not an error."""


class ReleaseEngine:
    def __init__(self, store: ReleaseStore, tokens: TaskTokens) -> None:
        self._store = store
        self._tokens = tokens

    def begin(self, release_id: str) -> list[str]:
        """Mark the release Running and name the environments the state machine must run: none for a release
        terminated before its execution began (it was still queued when its product's turn came)."""
        started = self._store.set_release_status(release_id, ReleaseStatus.RUNNING, unless=_ENDING)
        release = self._store.get(release_id)
        if not started:
            logger.info(
                "release ended before it began", extra={"release": release_id, "status": release.status}
            )
            return []
        logger.info(
            "release started",
            extra={"release": release_id, "product": release.product, "version": release.version},
        )
        return [run.name for run in release.promoted_environments if not run.status.is_done_well]

    def reopen(self, release_id: str) -> None:
        """Run a failed release again: its failed and never-started environments go back to Pending; the
        ones that succeeded keep their status and commits, and a promotion whose commit already landed finds
        nothing left to write, so a retry never commits twice."""
        release = self._store.get(release_id)
        if release.status not in (ReleaseStatus.FAILED, ReleaseStatus.TERMINATED):
            raise ReleaseNotRetryable(
                f"release {release_id} is {release.status.value}: only a Failed or Terminated release can be retried"
            )
        for run in release.promoted_environments:
            if run.status in (EnvironmentStatus.FAILED, EnvironmentStatus.TERMINATED):
                self._store.set_environment_status(
                    release_id,
                    run.name,
                    EnvironmentStatus.PENDING,
                    only_from=(EnvironmentStatus.FAILED, EnvironmentStatus.TERMINATED),
                )
                self._store.forget_checks(release_id, run.name)
        self._store.set_release_status(release_id, ReleaseStatus.QUEUED, clear_reason=True)
        logger.info("release reopened for a retry", extra={"release": release_id})

    def gate(self, release_id: str, environment: str, token: str) -> None:
        """Park an environment's token; it is answered here if its dependencies are already decided."""
        self._store.register_wait_token(release_id, environment, token)
        self._answer_decided_waiters(release_id)

    def complete(
        self,
        release_id: str,
        environment: str,
        *,
        succeeded: bool,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the environment's outcome, unless it has one already (Superseded, recorded by the promotion),
        and answer the environments waiting on it. A failure is recorded with the error the state machine
        caught ({Error, Cause}), and what kind of failure it was."""
        status = EnvironmentStatus.SUCCESSFUL if succeeded else EnvironmentStatus.FAILED
        caught = StepError.from_catch(error)
        failure = None
        if not succeeded:
            failure = failure_of(self._store.get(release_id).environment(environment), caught)
        self._store.set_environment_status(
            release_id,
            environment,
            status,
            reason=caught.reason if caught is not None else None,
            failure=failure,
            only_from=(EnvironmentStatus.PENDING, EnvironmentStatus.RUNNING, EnvironmentStatus.SUSPENDED),
        )
        run = self._store.get(release_id).environment(environment)
        logger.info(
            "environment finished",
            extra={
                "release": release_id,
                "environment": environment,
                "status": run.status.value,
                "reason": run.reason,
            },
        )
        self._answer_decided_waiters(release_id)

    def settle(self, release_id: str) -> ReleaseStatus:
        """Once every environment is done: Succeeded when all of them succeeded, else Failed with the reasons.

        The release stays Running (its success or failure hooks still run) until `close`.
        """
        release = self.terminate_unfinished(release_id, "the release ended before this environment finished")
        failed = [run for run in release.promoted_environments if not run.status.is_done_well]
        if release.reason is None and not failed:
            return ReleaseStatus.SUCCEEDED
        if release.reason is None:
            self._store.set_release_status(
                release_id, ReleaseStatus.RUNNING, reason=_failure_summary(failed), unless=_ENDING
            )
        return ReleaseStatus.FAILED

    def record_error(self, release_id: str, error: str) -> None:
        """A release-level failure (a hook, or the flow itself): remember why; stop what has not started."""
        self.terminate_unfinished(release_id, f"not started: {error}")
        self._store.set_release_status(release_id, ReleaseStatus.RUNNING, reason=error, unless=_ENDING)

    def close(self, release_id: str, *, succeeded: bool) -> ReleaseStatus:
        """The release's final status; a Terminating release ends Terminated, whatever its hooks did."""
        if self._store.get(release_id).status is ReleaseStatus.TERMINATING:
            status = ReleaseStatus.TERMINATED
        else:
            status = ReleaseStatus.SUCCEEDED if succeeded else ReleaseStatus.FAILED
        self._store.set_release_status(
            release_id,
            status,
            unless=(ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED, ReleaseStatus.TERMINATED),
        )
        release = self._store.get(release_id)
        logger.info(
            "release finished",
            extra={"release": release_id, "status": release.status.value, "reason": release.reason},
        )
        return release.status

    def terminate_unfinished(self, release_id: str, reason: str) -> Release:
        """Every environment not finished yet ends Terminated, for `reason`."""
        for run in self._store.get(release_id).promoted_environments:
            if not run.status.is_final:
                self._store.set_environment_status(
                    release_id,
                    run.name,
                    EnvironmentStatus.TERMINATED,
                    reason=reason,
                    failure=EnvironmentFailure(kind=FailureKind.TERMINATED, message=reason),
                    only_from=(
                        EnvironmentStatus.PENDING,
                        EnvironmentStatus.RUNNING,
                        EnvironmentStatus.SUSPENDED,
                    ),
                )
        return self._store.get(release_id)

    def _answer_decided_waiters(self, release_id: str) -> None:
        waiters = self._store.waiting_environments(release_id)
        if not waiters:
            return
        release = self._store.get(release_id)
        for environment, waiter in waiters.items():
            decision = waiter.decision
            if decision is None:
                decision = _decide(release, release.environment(environment))
                if decision is None or not self._store.decide_wait(
                    release_id, environment, waiter.token, decision
                ):
                    continue
                self._record_decision(release, environment, decision)
            if decision == PROCEED:
                self._tokens.answer(waiter.token, {})
            else:
                # The iteration ends either way; the environment's record says why.
                reason = _not_started_reason(release, release.environment(environment), decision)
                self._tokens.refuse(waiter.token, NOT_STARTED_ERROR, reason)
            self._store.forget_wait(release_id, environment, waiter.token)

    def _record_decision(self, release: Release, environment: str, decision: str) -> None:
        if decision == PROCEED:
            self._store.set_environment_status(
                release.id, environment, EnvironmentStatus.RUNNING, only_from=(EnvironmentStatus.PENDING,)
            )
        else:
            reason = _not_started_reason(release, release.environment(environment), decision)
            superseded = decision == SUPERSEDE
            self._store.set_environment_status(
                release.id,
                environment,
                EnvironmentStatus.SUPERSEDED if superseded else EnvironmentStatus.TERMINATED,
                reason=reason,
                failure=None
                if superseded
                else EnvironmentFailure(kind=FailureKind.TERMINATED, message=reason),
                only_from=(EnvironmentStatus.PENDING,),
            )


def _decide(release: Release, run: EnvironmentRun) -> str | None:
    """Proceed once every dependency succeeded; skip once anything in the release failed; supersede once a
    dependency was superseded; else keep waiting.

    A failure anywhere stops new environments from starting, even ones that do not depend on it: a release
    is one product version moving as a unit, and a half-promoted version should not spread further. A newer
    release holds a superseded environment, and takes its version further itself.
    """
    if any(other.status is EnvironmentStatus.FAILED for other in release.environments):
        return SKIP
    if _superseded_dependency(release, run) is not None:
        return SUPERSEDE
    if all(
        release.environment(dependency).status is EnvironmentStatus.SUCCESSFUL
        for dependency in run.depends_on
    ):
        return PROCEED
    return None


def _superseded_dependency(release: Release, run: EnvironmentRun) -> EnvironmentRun | None:
    for dependency in run.depends_on:
        if release.environment(dependency).status is EnvironmentStatus.SUPERSEDED:
            return release.environment(dependency)
    return None


def _not_started_reason(release: Release, run: EnvironmentRun, decision: str) -> str:
    superseded = _superseded_dependency(release, run)
    if decision == SUPERSEDE and superseded is not None:
        return f"not started: {superseded.name} was {superseded.reason}"
    failed = [run.name for run in release.environments if run.status is EnvironmentStatus.FAILED]
    return (
        f"not started: {', '.join(failed)} failed"
        if failed
        else f"not started: {release.reason or 'the release failed'}"
    )


def _failure_summary(runs: list[EnvironmentRun]) -> str:
    return "; ".join(
        f"{run.name}: {run.status.value}{f' ({run.reason})' if run.reason else ''}" for run in runs
    )


def error_reason(error: Mapping[str, Any] | None) -> str | None:
    """Turn a Step Functions Catch result ({Error, Cause}) into one readable line."""
    caught = StepError.from_catch(error)
    return caught.reason if caught is not None else None
