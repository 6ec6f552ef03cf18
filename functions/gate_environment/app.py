"""Step Functions task (waitForTaskToken): park an environment until its dependencies are decided."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.errors import raising_transient_as_one_name
from promotions.runtime import services, traced

logger = Logger()


class GateTask(BaseModel):
    releaseId: str
    environment: str
    taskToken: str


@logger.inject_lambda_context(clear_state=True)
@traced
@raising_transient_as_one_name
@event_parser(model=GateTask)
def handler(task: GateTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId, environment=task.environment)
    services().engine.gate(task.releaseId, task.environment, task.taskToken)
    return {}
