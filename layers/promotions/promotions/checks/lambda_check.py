"""lambda: ask a Lambda function of your own whether to go on."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError

from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckKind, Name, exported_context
from promotions.checks.outcomes import CheckOutcome, Failed, Passed, Wait
from promotions.checks.services import CheckServices
from promotions.checks.templates import UndefinedVariable, render_values

# Invoke errors no retry can fix; others (throttling, service errors) propagate for Step Functions to retry.
_PERMANENT_INVOKE_ERRORS = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "RequestTooLargeException",
        "InvalidRequestContentException",
    }
)
_ANSWER_SHAPE = (
    '{"result": "passed" | "failed" | "retry", "reason", "retryAfterSeconds", "PROMOTION_CONTEXT"}'
)


class LambdaAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    result: Literal["passed", "failed", "retry"]
    reason: str = ""
    retry_after_seconds: PositiveInt = Field(60, alias="retryAfterSeconds")
    promotion_context: Any = Field(None, alias="PROMOTION_CONTEXT")


class LambdaCheck(CheckKind):
    """Invokes `functionName` synchronously with every promotion variable plus `payload` (whose strings may
    hold `${VAR}` placeholders) and maps its answer: passed, failed (with `reason`), or retry after
    `retryAfterSeconds` (default 60). A PROMOTION_CONTEXT object in a passing answer is exported."""

    kind: ClassVar[str] = "lambda"
    allowed_in_hooks: ClassVar[bool] = True

    function_name: Name
    payload: dict[str, Any] = Field(default_factory=dict)

    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome:
        variables = context.variables()
        try:
            payload = {**variables, **render_values(self.payload, variables)}
        except UndefinedVariable as error:
            return Failed(reason=str(error))
        subject = f"Lambda function {self.function_name}"
        try:
            response = services.lambda_client.invoke(
                FunctionName=self.function_name, Payload=json.dumps(payload).encode()
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _PERMANENT_INVOKE_ERRORS:
                return Failed(
                    reason=f"{subject} could not be invoked ({code}): "
                    f"{error.response['Error'].get('Message', '')}"
                )
            raise
        raw = response["Payload"].read()
        if response.get("FunctionError"):
            return Failed(reason=f"{subject} failed: {_error_message(raw)}")
        try:
            answer = LambdaAnswer.model_validate_json(raw)
            update = exported_context(answer.promotion_context)
        except (ValidationError, ValueError):
            return Failed(reason=f"{subject} answered {raw[:200]!r}, not {_ANSWER_SHAPE}")
        match answer.result:
            case "passed":
                return Passed(context_update=update)
            case "failed":
                return Failed(reason=f"{subject}: {answer.reason or 'failed'}")
            case "retry":
                return Wait(
                    seconds=answer.retry_after_seconds, reason=f"{subject}: {answer.reason or 'retry'}"
                )


def _error_message(raw: bytes) -> str:
    """Lambda's error document: {"errorMessage", "errorType", "stackTrace"}."""
    try:
        error = json.loads(raw)
    except ValueError:
        return raw[:200].decode(errors="replace")
    if not isinstance(error, dict):
        return str(error)[:200]
    return (
        ": ".join(str(error[key]) for key in ("errorType", "errorMessage") if error.get(key))
        or "unknown error"
    )
