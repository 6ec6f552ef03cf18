"""`promotions local up`: the embedded stack, serving on 127.0.0.1 what the stack's HTTP API serves on AWS.

Moto keeps the HTTP API's routes (SAM's OpenAPI body, imported) but serves none of them, so the loopback
server (api_server) serves the template's routes and hands each request, as API Gateway's event, to the
route's function through the stack's Lambda Invoke: the same handlers as on AWS. A push then goes from the
webhook function over the bus to the queue, which the stack's event source pollers drain as long as it is up.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from promotions.config import Configuration
from promotions_local.api_server import DASHBOARD_PATH, ApiFunction, ApiServer
from promotions_local.session import SLACK_ROUTE, LocalPromotions
from promotions_local.slack_server import SlackStandIn
from promotions_local.stack import LocalStack

# The secret's name in the stack's Secrets Manager, given to the template as WebhookSecretArn.
WEBHOOK_SECRET_NAME = "promotions-webhook"
# template.yaml's routes that name no authorizer: each request checks its own signature.
OPEN_ROUTES = {"POST /webhooks/{provider}": "WebhookFunction", SLACK_ROUTE: "SlackInteractionsFunction"}


@dataclass(frozen=True)
class Credentials:
    """The API's bearer token, the webhook secret and the Slack app's signing secret: given, or made here."""

    token: str
    webhook_secret: str
    slack_signing_secret: str

    @classmethod
    def given_or_generated(
        cls, token: str | None, webhook_secret: str | None, slack_signing_secret: str | None
    ) -> Credentials:
        given = {
            "--token": token,
            "--webhook-secret": webhook_secret,
            "--slack-signing-secret": slack_signing_secret,
        }
        empty = [option for option, value in given.items() if value is not None and not value.strip()]
        if empty:
            raise ValueError(f"{', '.join(empty)} cannot be empty: leave it out and one is generated")
        return cls(
            token=token or secrets.token_urlsafe(24),
            webhook_secret=webhook_secret or secrets.token_hex(20),
            slack_signing_secret=slack_signing_secret or secrets.token_hex(16),
        )


def dashboard_url(api_url: str) -> str:
    return f"{api_url}{DASHBOARD_PATH}/"


def signed_in_dashboard_url(api_url: str, token: str) -> str:
    """The dashboard with the token in the fragment, which browsers never send to a server: it stays out of
    every request and so of the server's logs, and the page keeps it in the tab's session storage."""
    return f"{dashboard_url(api_url)}#token={quote(token, safe='')}"


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or a plain kill (SIGTERM). A process started in the background by a shell without job
    control inherits SIGINT ignored, and Python then never raises KeyboardInterrupt: ask for it outright."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


def permissions_notice(configuration: Configuration) -> str | None:
    """What a person starting the stack on their own configuration must know first: with no rule, every
    state-changing call through the API, the CLI, the dashboard or Slack is refused."""
    if configuration.permissions:
        return None
    return (
        "Permissions: the configuration has no PromotionPermissions document, so every trigger, promote, "
        "rollback, approve, retry and terminate is refused (403) until one grants it (README: Who may do what)"
    )


class StackFunctions:
    """The stack's functions by logical id, for a server that starts before the stack does (so that its
    address can be a template parameter: the release links point at its dashboard)."""

    def __init__(self) -> None:
        self.stack: LocalStack | None = None

    def function(self, logical_id: str) -> ApiFunction:
        return functools.partial(self._invoke, logical_id)

    def _invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        if self.stack is None:
            raise RuntimeError("the stack is still starting")
        return self.stack.invoke(logical_id, event)


def serve(
    config_dir: Path,
    credentials: Credentials,
    *,
    port: int,
    fast_forward: bool,
    announce: Callable[[str], None],
) -> None:
    """Start the stack and serve until Ctrl-C; `announce` receives the lines a person needs to use it (the
    token among them, so they go to the terminal, never to the functions' logs)."""
    # Approval messages go to a Slack stand-in; clicks reach /slack/interactions signed with the secret.
    slack = SlackStandIn(signing_secret=credentials.slack_signing_secret)
    functions = StackFunctions()
    server = ApiServer(
        functions.function("ApiFunction"),
        credentials.token,
        open_routes={route: functions.function(function) for route, function in OPEN_ROUTES.items()},
        port=port,
    )
    with slack, server:
        parameters = {
            "WebhookSecretArn": WEBHOOK_SECRET_NAME,
            # Hooks, checks and approval messages link a release to its page on this dashboard.
            "ReleaseLinkPrefix": f"{dashboard_url(server.base_url)}#/releases/",
        }
        with LocalPromotions(config_dir, parameters, slack=slack, fast_forward=fast_forward) as local:
            stack = local.stack
            assert stack is not None
            stack.client("secretsmanager").create_secret(
                Name=WEBHOOK_SECRET_NAME, SecretString=credentials.webhook_secret
            )
            stack.start_event_source_pollers()
            functions.stack = stack
            announce(f"API: {server.base_url}")
            announce(f"Dashboard: {signed_in_dashboard_url(server.base_url, credentials.token)}")
            announce(f"Token: {credentials.token}")
            announce(f"Webhook secret: {credentials.webhook_secret}")
            announce(f"Slack signing secret: {credentials.slack_signing_secret}")
            notice = permissions_notice(local.configuration)
            if notice:
                announce(notice)
            announce("Serving until Ctrl-C.")
            # Leaving the blocks stops the stack, the pollers and the server.
            wait_for_interrupt()
