"""SQS batch: environment status change events from the project's bus (docs/events.md), each reported as
commit statuses on the release's commits (promotions.release.commit_statuses). A Git host that is away fails
the record, and SQS delivers it again; after five receives it waits in NotificationsDeadLetterQueue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.release.status_events import EnvironmentStatusChanged
from promotions.runtime import services, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    change = EnvironmentStatusChanged.model_validate(json.loads(record.body)["detail"])
    logger.append_keys(release=change.release_id, environment=change.environment)
    services().commit_statuses.report(change.release_id, change.environment)


@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
