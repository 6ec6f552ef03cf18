"""SQS batch: status change events from the project's bus (docs/events.md). An environment's is reported as
commit statuses on the release's commits (promotions.release.commit_statuses); each updates the release's message
in its product's Slack channel, where it has one (promotions.release.slack_releases). A Git host or Slack that is
away fails the record, and SQS delivers it again; after five receives it waits in NotificationsDeadLetterQueue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.release.status_events import EnvironmentStatusChanged, ReleaseStatusChanged
from promotions.runtime import services, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    event = json.loads(record.body)
    if event["detail-type"] == EnvironmentStatusChanged.detail_type:
        change = EnvironmentStatusChanged.model_validate(event["detail"])
        logger.append_keys(release=change.release_id, environment=change.environment)
        services().commit_statuses.report(change.release_id, change.environment)
        release_id = change.release_id
    else:
        release_id = ReleaseStatusChanged.model_validate(event["detail"]).release_id
        logger.append_keys(release=release_id, environment=None)
    services().slack_releases.show(release_id)


@logger.inject_lambda_context(clear_state=True)
@traced
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
