"""Step Functions task: evaluate one stage's hooks and checks, and say what the state machine does next."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import BaseModel, Field, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.aws.logs import log_stream_url
from promotions.errors import raising_transient_as_one_name
from promotions.release.gates import Stage
from promotions.runtime import services, traced

logger = Logger()


class GateState(BaseModel):
    """What the state machine kept of the stage: the last progress, and an integration's result if one ran."""

    progress: dict[str, Any] = Field(default_factory=dict)
    integrationResult: dict[str, Any] | None = None


class GatesTask(BaseModel):
    releaseId: str
    environment: str | None = None
    stage: Stage
    state: GateState = GateState()


@logger.inject_lambda_context(clear_state=True)
@traced
@raising_transient_as_one_name
@event_parser(model=GatesTask)
def handler(task: GatesTask, context: LambdaContext) -> dict:
    logger.append_keys(release=task.releaseId, environment=task.environment, stage=task.stage.value)
    step = services().gates.evaluate(
        task.releaseId,
        task.environment,
        task.stage,
        progress=task.state.progress,
        integration_result=task.state.integrationResult,
        logs_url=log_stream_url(
            context.invoked_function_arn, context.log_group_name, context.log_stream_name
        ),
    )
    return {
        "next": step.next,
        "waitSeconds": step.wait_seconds,
        "parameters": step.parameters,
        "progress": step.progress,
    }
