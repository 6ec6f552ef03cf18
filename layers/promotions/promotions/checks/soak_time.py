"""soakTime: go on only once other environments have run this release for a while without failing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

from pydantic import Field

from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckKind, Duration, Name, describe_duration
from promotions.checks.outcomes import CheckOutcome, Failed, Passed, Wait, wait_seconds
from promotions.checks.services import CheckServices


class SoakTimeCheck(CheckKind):
    """Passes when every listed environment has been Successful in this release for at least `duration`
    (e.g. 30m, 1h30m, PT1H, or a number of minutes), measured by the engine's clock."""

    kind: ClassVar[str] = "soakTime"

    environments: tuple[Name, ...] = Field(min_length=1)
    duration: Duration

    def environment_references(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        return ((("environments", index), environment) for index, environment in enumerate(self.environments))

    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome:
        succeeded = context.environment_success_times
        missing = [environment for environment in self.environments if environment not in succeeded]
        if missing:
            # Waiting could outlast the flow: only a dependsOn makes sure the environment finishes first.
            return Failed(
                reason=f"{', '.join(missing)} has not succeeded in this release, so it cannot have soaked "
                "(make this environment depend on it)"
            )
        now = services.now()
        environment, remaining = max(
            (
                (environment, succeeded[environment] + self.duration - now)
                for environment in self.environments
            ),
            key=lambda pair: pair[1],
        )
        if remaining <= timedelta(0):
            return Passed()
        return Wait(
            seconds=wait_seconds(remaining),
            reason=f"{environment} has soaked {describe_duration(self.duration - remaining)} of "
            f"{describe_duration(self.duration)}",
        )
