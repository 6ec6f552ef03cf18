"""What one check answers: go on, stop, ask again later, or have Step Functions run something first."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt
from pydantic.alias_generators import to_camel

Integration = Literal["codebuild", "stateMachine", "approval"]


def wait_seconds(duration: timedelta) -> int:
    """Whole seconds for a Wait state, rounded up so the next evaluation is never early, at least one."""
    return max(1, math.ceil(duration.total_seconds()))


class _Outcome(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Passed(_Outcome):
    status: Literal["passed"] = "passed"
    # The check's exported PROMOTION_CONTEXT: merged into the release's promotion context.
    context_update: dict[str, Any] = Field(default_factory=dict)
    # The commit the promotion landed as, when this check is what learnt it (a pull request's merge commit):
    # the environment's commit from then on.
    promoted_commit: str | None = Field(default=None, min_length=1)


class Failed(_Outcome):
    status: Literal["failed"] = "failed"
    reason: str


class Wait(_Outcome):
    """Evaluate again after `seconds`: the state machine waits (a Wait state), never the Lambda function."""

    status: Literal["wait"] = "wait"
    seconds: PositiveInt
    reason: str

    def within(self, left: timedelta, past_it: str) -> Wait | Failed:
        """This wait, no longer than what is `left` of a time limit; once none is left, a failure saying
        `past_it` and what the wait was for."""
        if left <= timedelta(0):
            return Failed(reason=f"{past_it}: {self.reason}")
        return self.model_copy(update={"seconds": min(self.seconds, wait_seconds(left))})


class Run(_Outcome):
    """Start a Step Functions service integration with `parameters`, then evaluate again with its outcome."""

    status: Literal["run"] = "run"
    integration: Integration
    parameters: dict[str, Any]


CheckOutcome = Annotated[Passed | Failed | Wait | Run, Field(discriminator="status")]
