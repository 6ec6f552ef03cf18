"""Step Functions task: write the release's version into one environment's files and push the commit."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.errors import raising_transient_as_one_name
from promotions.runtime import services, traced

logger = Logger()
metrics = Metrics()


class PromoteTask(BaseModel):
    releaseId: str
    environment: str


@logger.inject_lambda_context(clear_state=True)
@traced
@raising_transient_as_one_name
@metrics.log_metrics
@event_parser(model=PromoteTask)
def handler(task: PromoteTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId, environment=task.environment)
    result = services().promoter.promote(task.releaseId, task.environment)
    # Contention on the GitOps repository: many writers to one branch make each promotion push again.
    metrics.add_metric(name="PushRetries", unit=MetricUnit.Count, value=result.push_retries)
    return {
        "commit": result.commit,
        "changedFiles": list(result.changed_files),
        "supersededBy": result.superseded_by,
    }
