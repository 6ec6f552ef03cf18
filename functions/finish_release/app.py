"""Step Functions task: settle the release once its environments are done, record a release-level
failure, or close it with its final status after its hooks ran (and start the product's next release);
terminate it when it ran past its flow's promotionTimeoutLimit, and begin finishing a terminated one."""

from typing import Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.errors import raising_transient_as_one_name
from promotions.release.engine import error_reason
from promotions.release.termination import TIMEOUT_ACTOR
from promotions.runtime import services, traced

logger = Logger()


class FinishTask(BaseModel):
    releaseId: str
    action: Literal["settle", "fail", "close", "terminate", "timeout"]
    succeeded: bool = False
    error: dict[str, Any] | None = None


@logger.inject_lambda_context(clear_state=True)
@traced
@raising_transient_as_one_name
@event_parser(model=FinishTask)
def handler(task: FinishTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId, action=task.action)
    parts = services()
    engine = parts.engine
    if task.action == "settle":
        return {"status": engine.settle(task.releaseId).value}
    if task.action == "fail":
        engine.record_error(task.releaseId, error_reason(task.error) or "the release failed")
        return {}
    if task.action == "timeout":
        parts.termination.terminate(task.releaseId, TIMEOUT_ACTOR, reason=error_reason(task.error))
        return {}
    if task.action == "terminate":
        parts.termination.finish(task.releaseId)
        parts.approvals.withdraw(task.releaseId)
        return {"gates": {"releaseFailed": {}}}
    # The product's next release starts first: none of its releases reads final while one still waits.
    parts.executions.start_next(parts.store.get(task.releaseId).product, ending=task.releaseId)
    return {"status": engine.close(task.releaseId, succeeded=task.succeeded).value}
