"""What one check answers: go on, stop, ask again later, or have Step Functions run something first."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt
from pydantic.alias_generators import to_camel

Integration = Literal["codebuild", "stateMachine"]


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


class Run(_Outcome):
    """Start a Step Functions service integration with `parameters`, then evaluate again with its outcome."""

    status: Literal["run"] = "run"
    integration: Integration
    parameters: dict[str, Any]


CheckOutcome = Annotated[Passed | Failed | Wait | Run, Field(discriminator="status")]
