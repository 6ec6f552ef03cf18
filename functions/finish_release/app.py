"""Step Functions task: settle the release's final status."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.release.engine import error_reason
from promotions.runtime import services

logger = Logger()
tracer = Tracer()


class FinishTask(BaseModel):
    releaseId: str
    error: dict[str, Any] | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_parser(model=FinishTask)
def handler(task: FinishTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId)
    status = services().engine.finish(task.releaseId, error=error_reason(task.error))
    return {"status": status.value}
