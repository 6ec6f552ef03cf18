"""Why an environment failed, at a glance: what kind of failure, the check or hook that said no, the message,
and where the failing function logged it.

A failure reaches the state machine's Catch as a Step Functions error: the name of the exception the task
raised, and its cause. A gate's failure (GateFailed) is told apart by the check that failed, as the gate
recorded it with its kind and stage; any other failure by the exception's name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promotions.errors import TransientError
from promotions.release.model import (
    CheckRecord,
    CheckStage,
    CheckState,
    EnvironmentFailure,
    EnvironmentRun,
    FailureKind,
)

# promotions.release.gates.GateFailed: a hook or check said no.
GATE_FAILED = "GateFailed"
# The exceptions of the Git engine (promotions.git.errors) and of the Git host providers
# (promotions.gitproviders.errors), by name: a Catch knows no more of them, and importing them would bring the
# Git engine into the function that records outcomes. tests/release/test_failures.py keeps the list whole.
GIT_ERRORS = frozenset(
    {
        "GitAuthError",
        "GitError",
        "GitTransientError",
        "PushRaceLost",
        "PushRejected",
        "RefNotFound",
        "RepositoryNotFound",
        "GitProviderAuthError",
        "GitProviderError",
        "GitProviderNotFound",
        "GitProviderRejected",
    }
)
# The check kinds whose failure is told apart from a check's.
_KIND_OF_CHECK = {"argoCdHealth": FailureKind.APPLICATION_HEALTH, "approval": FailureKind.APPROVAL}


@dataclass(frozen=True)
class StepError:
    """A Step Functions Catch result ({Error, Cause}): the exception's name, and its message."""

    name: str
    cause: str

    @classmethod
    def from_catch(cls, error: Mapping[str, Any] | None) -> StepError | None:
        if not error:
            return None
        cause = error.get("Cause", "")
        try:
            parsed = json.loads(cause)
            if isinstance(parsed, dict) and "errorMessage" in parsed:
                cause = parsed["errorMessage"]
        except (TypeError, ValueError):
            pass
        return cls(name=error.get("Error", "Error"), cause=cause)

    @property
    def reason(self) -> str:
        """One readable line."""
        return f"{self.name}: {self.cause}" if self.cause else self.name

    @property
    def original_name(self) -> str:
        """The exception's own name: a transient failure that outlasted its retries is raised as TransientError
        with a cause that names the original (promotions.errors.failure_reason)."""
        if self.name == TransientError.__name__:
            original, separator, _ = self.cause.partition(": ")
            if separator and original.isidentifier():
                return original
        return self.name


def failure_of(run: EnvironmentRun, error: StepError | None) -> EnvironmentFailure:
    """The failure of `run` (its checks as recorded so far) that ended with `error`."""
    message = error.reason if error is not None else run.reason or "failed"
    if error is None:
        return EnvironmentFailure(kind=FailureKind.OTHER, message=message)
    if error.name == GATE_FAILED:
        failed = _failed_check(run)
        if failed is None:
            return EnvironmentFailure(kind=FailureKind.CHECK, message=message)
        return EnvironmentFailure(
            kind=_kind_of(failed),
            check=failed.name,
            message=f"{failed.name}: {failed.reason}" if failed.reason else message,
            logs_url=failed.logs_url,
        )
    if error.original_name in GIT_ERRORS:
        return EnvironmentFailure(kind=FailureKind.GIT, message=message)
    return EnvironmentFailure(kind=FailureKind.OTHER, message=message)


def _failed_check(run: EnvironmentRun) -> CheckRecord | None:
    """The check that failed last before the environment failed (its onFail hooks run after)."""
    failed = [
        check
        for check in run.checks
        if check.outcome is CheckState.FAILED and check.stage is not CheckStage.ON_FAIL
    ]
    return max(failed, key=lambda check: check.last_evaluated_at, default=None)


def _kind_of(check: CheckRecord) -> FailureKind:
    if check.stage.is_hook:
        return FailureKind.HOOK
    return _KIND_OF_CHECK.get(check.kind, FailureKind.CHECK)
