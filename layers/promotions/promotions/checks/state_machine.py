"""stateMachine: run a Step Functions state machine of your own and go on if its execution succeeds.

The release's state machine starts it (arn:aws:states:::states:startExecution.sync:2) and waits without a
Lambda function; `:2` gives the child's Output as JSON rather than a string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from promotions.checks.context import CheckContext
from promotions.checks.kind import IntegrationCheck, Name, caught_error, exported_context
from promotions.checks.outcomes import CheckOutcome, Failed, Integration, Passed
from promotions.checks.templates import render_values


class StateMachineCheck(IntegrationCheck):
    """Starts `stateMachineArn` with every promotion variable plus `input` (strings may hold `${VAR}`
    placeholders) as its input. A PROMOTION_CONTEXT object in a succeeded execution's output is exported."""

    kind: ClassVar[str] = "stateMachine"
    integration: ClassVar[Integration] = "stateMachine"

    state_machine_arn: Name
    input: dict[str, Any] = Field(default_factory=dict)

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        variables = context.variables()
        return {
            "StateMachineArn": self.state_machine_arn,
            "Input": {**variables, **render_values(self.input, variables)},
        }

    def interpret(self, result: Mapping[str, Any]) -> CheckOutcome:
        """A succeeded task outputs the execution's description; a failed one, caught, carries it in its
        Cause."""
        execution: Any = result
        if "Status" not in result:
            error, execution = caught_error(result)
            if not isinstance(execution, dict) or "Status" not in execution:
                return Failed(
                    reason=f"state machine {self.state_machine_arn} did not run: {error} {execution}".strip()
                )
        subject = f"execution {execution.get('ExecutionArn', self.state_machine_arn)}"
        if execution["Status"] != "SUCCEEDED":
            why = ": ".join(str(execution[key]) for key in ("Error", "Cause") if execution.get(key))
            return Failed(reason=f"{subject} ended {execution['Status']}" + (f" ({why})" if why else ""))
        output = execution.get("Output")
        try:
            # startExecution.sync (version 1) gives the output as a JSON string.
            if isinstance(output, str):
                output = json.loads(output)
            update = exported_context(output.get("PROMOTION_CONTEXT") if isinstance(output, dict) else None)
        except ValueError as error:
            return Failed(reason=f"{subject} succeeded but its output is unusable: {error}")
        return Passed(context_update=update)
