"""Step Functions task: mark the release Running and list the environments to promote."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.errors import raising_transient_as_one_name
from promotions.runtime import services, traced

logger = Logger()


class StartReleaseTask(BaseModel):
    releaseId: str
    # Set by an execution that runs a failed release again (ReleaseExecutions.retry).
    retry: bool = False
    # The execution's name: the one to stop if the release is terminated.
    execution: str | None = None


@logger.inject_lambda_context(clear_state=True)
@traced
@raising_transient_as_one_name
@event_parser(model=StartReleaseTask)
def handler(task: StartReleaseTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId)
    parts = services()
    engine = parts.engine
    if task.execution:
        parts.leases.record_execution(task.releaseId, task.execution)
    if task.retry:
        engine.reopen(task.releaseId)
    return {
        "environments": engine.begin(task.releaseId),
        # Each release-level gate stage keeps its progress here between evaluations.
        "gates": {"releaseStart": {}, "releaseSuccess": {}, "releaseFailed": {}},
    }
