"""HTTP API: verify a Git provider's webhook and put it on the event bus."""

import json
import os

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, UnauthorizedError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from promotions.aws.webhook_payloads import WebhookPayloads
from promotions.sources import verify_github_signature, verify_gitlab_token

logger = Logger()
tracer = Tracer()
app = APIGatewayHttpResolver()
events = boto3.client("events")
payloads = WebhookPayloads(boto3.client("s3"), os.environ.get("WEBHOOK_PAYLOADS_BUCKET"))

SOURCE = "promotions.webhooks"
# Each provider's header naming the event, and how it spells a push.
EVENT_HEADERS = {"github": "x-github-event", "gitlab": "x-gitlab-event", "bitbucket": "x-event-key"}
DELIVERY_HEADERS = {
    "github": "x-github-delivery",
    "gitlab": "x-gitlab-event-uuid",
    "bitbucket": "x-request-uuid",
}
PUSH_EVENTS = {"push", "Push Hook", "Tag Push Hook", "repo:push"}


def webhook_secret() -> str:
    arn = os.environ.get("WEBHOOK_SECRET_ARN")
    if not arn:
        raise UnauthorizedError("webhook secret is not configured: set the WebhookSecretArn parameter")
    return parameters.get_secret(arn, max_age=300)


@app.post("/webhooks/<provider>")
@tracer.capture_method
def receive(provider: str) -> Response:
    if provider not in EVENT_HEADERS:
        raise NotFoundError(f"unknown provider {provider!r}; expected one of {', '.join(EVENT_HEADERS)}")
    headers = {name.lower(): value for name, value in (app.current_event.headers or {}).items()}
    body = app.current_event.decoded_body or ""
    secret = webhook_secret()
    if provider == "gitlab":
        authentic = verify_gitlab_token(secret, headers.get("x-gitlab-token"))
    else:
        authentic = verify_github_signature(
            secret.encode(),
            body.encode(),
            headers.get("x-hub-signature-256") or headers.get("x-hub-signature"),
        )
    if not authentic:
        raise UnauthorizedError("signature does not match the configured webhook secret")
    event_name = headers.get(EVENT_HEADERS[provider], "")
    detail = payloads.event_detail(
        provider,
        "push" if event_name in PUSH_EVENTS else event_name,
        headers.get(DELIVERY_HEADERS[provider]),
        body,
    )
    result = events.put_events(
        Entries=[
            {
                "EventBusName": os.environ["EVENT_BUS_NAME"],
                "Source": SOURCE,
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
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
