"""Run one phase's checks (a pre-action, a post-action, or a hook) in order, one step at a time.

The state machine calls evaluate_checks from one Lambda task and branches on the outcome: passed goes on,
failed fails with the reason, wait loops through a Wait state, run starts a service integration and then
evaluates again with its result. Each call gets back the progress the previous call returned, so checks that
passed are not run again (a smoke test is not repeated while a later soak time waits) and each check's
timeout counts from its own first evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from promotions.checks.context import CheckContext
from promotions.checks.definition import PromotionCheck
from promotions.checks.kind import IntegrationCheck, describe_duration
from promotions.checks.outcomes import CheckOutcome, Failed, Integration, Passed, Run, Wait
from promotions.checks.services import CheckServices


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class PhaseProgress(_Model):
    """Where a phase stands between two evaluations; the state machine hands it back unchanged."""

    passed: tuple[str, ...] = ()
    # The check that answered wait or run, and when it was first evaluated (its timeout counts from then).
    current: str | None = None
    current_since: AwareDatetime | None = None
    # The integration `current` asked for: the next evaluation must bring its result.
    awaiting: Integration | None = None
    # PROMOTION_CONTEXT exported by this phase's checks so far, later exports winning.
    context_update: dict[str, Any] = Field(default_factory=dict)


class PhaseResult(_Model):
    outcome: CheckOutcome
    # The check that decided a failed, wait or run outcome, or learnt `promoted_commit`; None when every
    # check passed.
    check: str | None = None
    progress: PhaseProgress
    # The commit a check learnt the promotion landed as (Passed.promoted_commit). The phase stops right after
    # that check: record the commit, then evaluate again with `progress`, so later checks see it as the
    # promotion commit.
    promoted_commit: str | None = None

    @property
    def context_update(self) -> dict[str, Any]:
        """What to merge into the release's promotion context, whatever the outcome."""
        return self.progress.context_update


class ProgressMismatch(ValueError):
    """The progress or integration result handed back does not fit the checks: a wiring error, not a
    verdict."""


def evaluate_checks(
    checks: Sequence[PromotionCheck],
    context: CheckContext,
    services: CheckServices,
    *,
    progress: PhaseProgress | None = None,
    integration_result: Mapping[str, Any] | None = None,
) -> PhaseResult:
    """Evaluate from the first check not yet passed; stop at the first outcome that is not passed, or right
    after a check that learnt the promoted commit (see PhaseResult.promoted_commit).

    `integration_result` is the output of the integration the last result asked to run (or the error its Catch
    recorded); the check that asked interprets it. Errors worth retrying (transient HTTP or AWS failures)
    propagate; everything else is an outcome.
    """
    progress = progress or PhaseProgress()
    names = tuple(check.name for check in checks)
    if names[: len(progress.passed)] != progress.passed:
        raise ProgressMismatch(
            f"checks {', '.join(progress.passed)} passed, but this phase runs {', '.join(names)}"
        )
    if (integration_result is None) != (progress.awaiting is None):
        raise ProgressMismatch(
            f"check {progress.current} awaits its {progress.awaiting} result"
            if integration_result is None
            else "an integration result came, but no check asked for one"
        )
    if progress.awaiting is not None and names[len(progress.passed) : len(progress.passed) + 1] != (
        progress.current,
    ):
        raise ProgressMismatch(
            f"check {progress.current} awaits an integration result, but is not next in this phase"
        )
    passed = list(progress.passed)
    exported = dict(progress.context_update)
    for check in checks[len(passed) :]:
        now = services.now()
        since = progress.current_since if check.name == progress.current and progress.current_since else now
        outcome = _evaluate(check, context.with_promotion_context(exported), services, integration_result)
        integration_result = None
        if isinstance(outcome, Passed):
            passed.append(check.name)
            exported |= outcome.context_update
            if outcome.promoted_commit is not None:
                return PhaseResult(
                    outcome=Passed(),
                    check=check.name,
                    progress=PhaseProgress(passed=tuple(passed), context_update=exported),
                    promoted_commit=outcome.promoted_commit,
                )
            continue
        if isinstance(outcome, Wait):
            outcome = _within_timeout(check, outcome, now - since)
        return PhaseResult(
            outcome=outcome,
            check=check.name,
            progress=PhaseProgress(
                passed=tuple(passed),
                current=check.name,
                current_since=since,
                awaiting=outcome.integration if isinstance(outcome, Run) else None,
                context_update=exported,
            ),
        )
    return PhaseResult(
        outcome=Passed(), progress=PhaseProgress(passed=tuple(passed), context_update=exported)
    )


def _evaluate(
    check: PromotionCheck,
    context: CheckContext,
    services: CheckServices,
    integration_result: Mapping[str, Any] | None,
) -> CheckOutcome:
    if integration_result is None:
        return check.config.evaluate(context, services)
    if not isinstance(check.config, IntegrationCheck):
        raise ProgressMismatch(f"check {check.name} is a {check.kind} check, which runs no integration")
    return check.config.interpret(integration_result)


def _within_timeout(check: PromotionCheck, wait: Wait, waited: timedelta) -> Wait | Failed:
    """A wait never outlasts the check's timeout; past it, the check fails with what it last saw."""
    if check.timeout is None:
        return wait
    return wait.within(check.timeout - waited, f"timed out after {describe_duration(check.timeout)}")
