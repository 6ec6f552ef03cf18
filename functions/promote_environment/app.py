"""Step Functions task: write the release's version into one environment's files and push the commit."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.runtime import services

logger = Logger()
tracer = Tracer()


class PromoteTask(BaseModel):
    releaseId: str
    environment: str


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_parser(model=PromoteTask)
def handler(task: PromoteTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId, environment=task.environment)
    result = services().promoter.promote(task.releaseId, task.environment)
    return {"commit": result.commit, "changedFiles": list(result.changed_files)}
