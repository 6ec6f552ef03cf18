"""Step Functions task: record an environment's outcome and release the environments waiting on it."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.errors import raising_transient_as_one_name
from promotions.runtime import services, traced

logger = Logger()


class CompleteTask(BaseModel):
    releaseId: str
    environment: str
    succeeded: bool
    error: dict[str, Any] | None = None


@logger.inject_lambda_context(clear_state=True)
@traced
@raising_transient_as_one_name
@event_parser(model=CompleteTask)
def handler(task: CompleteTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId, environment=task.environment)
    services().engine.complete(task.releaseId, task.environment, succeeded=task.succeeded, error=task.error)
    return {}
