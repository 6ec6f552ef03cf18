"""HTTP API: verify a webhook with its source's route (promotions.sources) and put it on the event bus."""

import functools
import json
import os

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    InternalServerError,
    NotFoundError,
    UnauthorizedError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.aws.webhook_payloads import WebhookPayloads
from promotions.runtime import traced
from promotions.sources.registry import WEBHOOK_BUS_SOURCE, UnknownEventSource, webhook_source
from promotions.sources.webhook import (
    UnauthenticDelivery,
    UnusableDelivery,
    WebhookNotConfigured,
    WebhookSecrets,
    raw_body,
    verified_delivery,
)

logger = Logger()
app = APIGatewayHttpResolver()
events = boto3.client("events")


# Made at the first delivery, not at import, as the clients of the other functions are.
@functools.cache
def payloads() -> WebhookPayloads:
    return WebhookPayloads(boto3.client("s3"), os.environ.get("WEBHOOK_PAYLOADS_BUCKET"))


def webhook_secrets(provider: str) -> WebhookSecrets:
    arn = os.environ.get("WEBHOOK_SECRET_ARN")
    if not arn:
        raise WebhookNotConfigured(
            provider, "no secret is configured: deploy with WebhookSecretArn naming a Secrets Manager secret"
        )
    try:
        secret_value = parameters.get_secret(arn, max_age=300)
    except GetParameterError as exc:
        raise WebhookNotConfigured(
            provider, f"the secret WebhookSecretArn names ({arn}) cannot be read: {exc}"
        )
    return WebhookSecrets.parse(secret_value)


@app.exception_handler(UnknownEventSource)
def unknown_provider(exc: UnknownEventSource) -> Response:
    raise NotFoundError(str(exc))


@app.exception_handler(UnauthenticDelivery)
def unauthentic(exc: UnauthenticDelivery) -> Response:
    raise UnauthorizedError(str(exc))


@app.exception_handler(UnusableDelivery)
def unusable(exc: UnusableDelivery) -> Response:
    raise BadRequestError(str(exc))


@app.exception_handler(WebhookNotConfigured)
def not_configured(exc: WebhookNotConfigured) -> Response:
    logger.error(str(exc))
    # The sender can do nothing about it, and needs no more detail than that it is the server's fault.
    raise InternalServerError("the webhook receiver is not configured for this provider")


@app.post("/webhooks/<provider>")
def receive(provider: str) -> Response:
    source, route = webhook_source(provider)
    request = app.current_event
    body = raw_body(request.body, request.is_base64_encoded)
    delivery = verified_delivery(source.name, route, request.headers or {}, body, webhook_secrets(provider))
    detail = payloads().event_detail(
        delivery.provider, delivery.event, delivery.delivery_id, delivery.payload_json
    )
    result = events.put_events(
        Entries=[
            {
                "EventBusName": os.environ["EVENT_BUS_NAME"],
                "Source": WEBHOOK_BUS_SOURCE,
                "DetailType": f"{provider} {detail['event']}",
                "Detail": json.dumps(detail),
            }
        ]
    )
    if result.get("FailedEntryCount"):
        logger.error("event bus refused the event", extra={"entries": result["Entries"]})
        return Response(
            status_code=502, content_type="application/json", body=json.dumps({"accepted": False})
        )
    return Response(status_code=202, content_type="application/json", body=json.dumps({"accepted": True}))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@traced
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
