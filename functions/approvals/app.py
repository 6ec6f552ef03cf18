"""Step Functions task: ask for an approval the environment waits on (waitForTaskToken), or record that it
timed out (promotions.release.approvals)."""

from typing import Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.errors import raising_transient_as_one_name
from promotions.release.approval_store import ApprovalRequest
from promotions.runtime import services, traced

logger = Logger()


class ApprovalTask(BaseModel):
    releaseId: str
    environment: str
    action: Literal["request", "expire"]
    # For a request: the approval check's parameters, and the token the environment waits on.
    parameters: dict[str, Any] | None = None
    taskToken: str | None = None


@logger.inject_lambda_context(clear_state=True)
@traced
@raising_transient_as_one_name
@event_parser(model=ApprovalTask)
def handler(task: ApprovalTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId, environment=task.environment, action=task.action)
    approvals = services().approvals
    if task.action == "expire":
        return approvals.expire(task.releaseId, task.environment)
    if task.taskToken is None or task.parameters is None:
        raise ValueError("a request needs the check's parameters and the task token it answers")
    request = ApprovalRequest.model_validate(task.parameters)
    return {"approval": approvals.request(task.releaseId, task.environment, task.taskToken, request)}
