"""HTTP API: Slack's interactivity callback for approvals. Only a request Slack signed (less than five
minutes ago) is read; it records an approval, opens a rejection's reason dialog, or records the rejection
(promotions.release.approvals). The clicker is known by their Slack user ID and the user groups Slack lists
them in, which the configuration's permissions may name. The work is a few DynamoDB and Slack calls, well within
Slack's 3 seconds."""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError, UnauthorizedError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.release.approval_store import ApprovalNotFound, Approver
from promotions.release.permissions import Identity, SlackUserGroups
from promotions.runtime import services, traced
from promotions.slack.interactions import (
    ReasonSubmitted,
    UnusableInteraction,
    parse_interaction,
    reason_refused,
    request_is_authentic,
)
from promotions.sources.webhook import UnusableDelivery, raw_body

logger = Logger()
app = APIGatewayHttpResolver()


@app.exception_handler(UnusableInteraction)
def unusable(exc: UnusableInteraction) -> Response:
    raise BadRequestError(str(exc))


@app.exception_handler(UnusableDelivery)
def unreadable(exc: UnusableDelivery) -> Response:
    raise BadRequestError(str(exc))


@app.exception_handler(ApprovalNotFound)
def unknown_approval(exc: ApprovalNotFound) -> Response:
    raise NotFoundError(str(exc))


@app.post("/slack/interactions")
def interaction() -> Response:
    request = app.current_event
    body = raw_body(request.body, request.is_base64_encoded).decode("utf-8", "replace")
    if not request_is_authentic(services().slack_app()["signingSecret"], body, request.headers or {}):
        raise UnauthorizedError(
            "the request is not signed by Slack, or was signed more than five minutes ago"
        )
    clicked = parse_interaction(body)
    identity = Identity(
        actor=str(Approver(clicked.user, clicked.user_name)),
        name=clicked.user_name,
        slack_user=clicked.user,
        slack_groups=SlackUserGroups(clicked.user, services().slack.group_members),
    )
    approvals = services().approvals
    if isinstance(clicked, ReasonSubmitted):
        decision = approvals.decide(clicked.approval, identity, "reject", clicked.reason)
        if not decision.recorded:
            return Response(200, "application/json", json.dumps(reason_refused(decision.detail)))
    elif clicked.verdict == "reject":
        decision = approvals.begin_rejection(clicked.approval, identity, clicked.trigger_id)
    else:
        decision = approvals.decide(clicked.approval, identity, "approve")
    logger.info(
        "approval interaction",
        extra={"user": clicked.user, "recorded": decision.recorded, "detail": decision.detail},
    )
    return Response(200, "text/plain", "")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@traced
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
