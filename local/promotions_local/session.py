"""A whole promotion engine on this machine: the configuration committed to a local repository, the
stack from template.yaml on moto, and pushes handed to the same bus → queue → ingest path as on AWS."""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Self

from aws_lambda_powertools.utilities import parameters as powertools_parameters

from promotions import runtime
from promotions.aws.stepfunctions import ReleaseExecutions
from promotions.aws.webhook_payloads import WebhookPayloads
from promotions.config import load_configuration_dir
from promotions.git import Author, GitRemote
from promotions.release.model import Release
from promotions.release.status import ReleaseStatus
from promotions.sources import github
from promotions.sources.registry import WEBHOOK_BUS_SOURCE
from promotions_local.api_server import http_api_event, http_response
from promotions_local.git_server import create_bare_repository
from promotions_local.slack_server import SlackStandIn
from promotions_local.stack import LocalStack

# Moto cannot run CodeBuild's .sync integration and says so each time it reads a definition that names it;
# the release definition always does (for codebuild checks), so the warning would bury everything else.
# A codebuild check that actually runs locally still fails, with moto's error as its reason.
logging.getLogger(
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported"
).setLevel(logging.ERROR)
_POLL_SECONDS = 0.1
# A retry's execution, and the one that finishes a terminated release, run a release of another name.
_EXECUTION_SUFFIX = re.compile(r"-(retry-\d+|terminated)$")
CONFIG_AUTHOR = Author(name="Promotions local", email="promotions@localhost")
# The Slack app's secret, when a Slack stand-in is connected (template parameter SlackSecretArn).
SLACK_SECRET = "promotions-slack"
SLACK_ROUTE = "POST /slack/interactions"


class EventRejected(RuntimeError):
    """An event the ingest function parked in the dead-letter queue, with the reason it gave."""


class LocalPromotions:
    """`parameters` are further template parameters (GitCredentialsSecretArn, CommitAuthorName, ...); the
    configuration repository's are set here. `fast_forward` moves the clock through waits (soak times,
    retries) instead of taking their time."""

    def __init__(
        self,
        config_dir: Path,
        parameters: Mapping[str, str] = MappingProxyType({}),
        *,
        slack: SlackStandIn | None = None,
        fast_forward: bool = True,
    ) -> None:
        self._config_dir = config_dir
        self._parameters = dict(parameters)
        self._fast_forward = fast_forward
        # Approval messages go to this stand-in, and its clicks come back through the signed callback.
        self._slack = slack
        if slack is not None:
            self._parameters |= {"SlackSecretArn": SLACK_SECRET, "SlackApiUrl": slack.api_url}
        self._workspace = tempfile.TemporaryDirectory(prefix="promotions-local-")
        self.stack: LocalStack | None = None

    def __enter__(self) -> Self:
        # A broken configuration stops here, with every problem named.
        self.configuration = load_configuration_dir(self._config_dir)
        config_repo = Path(self._workspace.name) / "promotions-config.git"
        create_bare_repository(config_repo, self._config_files(), message="Promotion configuration")
        self.stack = LocalStack(
            parameters={**self._parameters, "ConfigRepoUrl": str(config_repo), "ConfigRepoBranch": "main"},
            fast_forward=self._fast_forward,
        )
        self.stack.start()
        self._forget_clients()
        if self._slack is not None:
            app = {"botToken": self._slack.token, "signingSecret": self._slack.signing_secret}
            self.stack.client("secretsmanager").create_secret(Name=SLACK_SECRET, SecretString=json.dumps(app))
            self._slack.callback = self.slack_interaction
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.stack is not None:
                self.stack.stop()
        finally:
            self._forget_clients()
            self._workspace.cleanup()

    @staticmethod
    def _forget_clients() -> None:
        """Parts built for an earlier stack point at its endpoint and tables: the engine's services, and the
        Powertools parameter providers (and the secrets they cached) behind the Git credentials."""
        runtime.services.cache_clear()
        powertools_parameters.clear_caches()

    def reload_configuration(self) -> None:
        """Commit the configuration folder as it is now, as a user pushes a change to the configuration repo."""
        remote = GitRemote(str(Path(self._workspace.name) / "promotions-config.git"))
        files = self._config_files()

        def mirror(tip) -> dict[str, bytes | None]:
            return {**{path: None for path in tip.list_files() if path not in files}, **files}

        remote.commit("main", mirror, "Update promotion configuration", CONFIG_AUTHOR)

    def _config_files(self) -> dict[str, bytes]:
        return {
            path.relative_to(self._config_dir).as_posix(): path.read_bytes()
            for path in sorted(self._config_dir.rglob("*"))
            if path.is_file()
        }

    def submit_github_push(self, payload: Mapping[str, Any]) -> None:
        """Put a GitHub push on the event bus, as the webhook function does after checking its signature (a
        payload too large for an event goes by way of the payload bucket)."""
        # An invalid payload is refused here, with the field named.
        github.SOURCE.parse(dict(payload), delivery_id=None)
        payloads = WebhookPayloads(
            self._stack.client("s3"), self._stack.resources["WebhookPayloadsBucket"].physical_id
        )
        detail = payloads.event_detail(github.SOURCE.name, "push", str(uuid.uuid4()), json.dumps(payload))
        self._stack.put_events(
            [
                {
                    "EventBusName": self._stack.resources["EventBus"].physical_id,
                    "Source": WEBHOOK_BUS_SOURCE,
                    "DetailType": f"{github.SOURCE.name} push",
                    "Detail": json.dumps(detail),
                }
            ]
        )

    def slack_interaction(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """POST /slack/interactions as the HTTP API serves it: the request as an event for the function, its
        answer as the response's status and body."""
        event = http_api_event(
            "POST", "/slack/interactions", headers, body, route_key=SLACK_ROUTE, authorizer=None
        )
        status, _, payload = http_response(self._stack.invoke("SlackInteractionsFunction", event))
        return status, payload

    def process_events(self, timeout: float = 60) -> None:
        """Run the ingest function over every queued event; raise with the reasons of any it parked."""
        deadline = time.monotonic() + timeout
        while self._stack.drain_event_sources(timeout=max(0.0, deadline - time.monotonic())):
            pass
        rejected = self._dead_letters()
        if rejected:
            raise EventRejected("; ".join(rejected))

    def release_ids(self) -> list[str]:
        """Every release an execution was started for (a retried or terminated release has several)."""
        return sorted({_EXECUTION_SUFFIX.sub("", name) for name in self._execution_names()})

    def retry_release(self, release_id: str) -> None:
        """Run a failed release again, as an operator would on AWS (see README)."""
        attempt = 1 + sum(1 for name in self._execution_names() if name.startswith(f"{release_id}-retry-"))
        ReleaseExecutions(self._stack.client("stepfunctions"), self._state_machine_arn).retry(
            release_id, attempt
        )

    def _execution_names(self) -> list[str]:
        sfn = self._stack.client("stepfunctions")
        paginator = sfn.get_paginator("list_executions")
        return [
            e["name"]
            for page in paginator.paginate(stateMachineArn=self._state_machine_arn)
            for e in page["executions"]
        ]

    @property
    def _state_machine_arn(self) -> str:
        return self._stack.resources["ReleaseStateMachine"].physical_id

    def execution_history(self, release_id: str) -> list[dict[str, Any]]:
        """The Step Functions history of a release's execution, oldest event first."""
        sfn = self._stack.client("stepfunctions")
        execution = f"{self._state_machine_arn.replace(':stateMachine:', ':execution:')}:{release_id}"
        paginator = sfn.get_paginator("get_execution_history")
        return [event for page in paginator.paginate(executionArn=execution) for event in page["events"]]

    def releases(self) -> list[Release]:
        """Every release stored, in the order of their ids; queued ones too, which have no execution until their
        product's active release ends."""
        store = runtime.services().store
        found, token = [], None
        while True:
            page = store.list_releases(limit=100, next_token=token)
            found += [store.get(summary.id) for summary in page.releases]
            if page.next_token is None:
                return sorted(found, key=lambda release: release.id)
            token = page.next_token

    def wait_until_settled(self, timeout: float = 300, on_progress=None) -> list[Release]:
        """Wait until every release is final or Suspended (waiting for a person), then return them."""
        deadline = time.monotonic() + timeout
        while True:
            releases = self.releases()
            if on_progress is not None:
                on_progress(releases)
            if all(r.status.is_final or r.status is ReleaseStatus.SUSPENDED for r in releases):
                return releases
            if time.monotonic() > deadline:
                pending = [f"{r.id} ({r.status.value})" for r in releases if not r.status.is_final]
                raise TimeoutError(f"releases still running after {timeout:.0f}s: {', '.join(pending)}")
            time.sleep(_POLL_SECONDS)

    def _dead_letters(self) -> list[str]:
        sqs = self._stack.client("sqs")
        url = self._stack.resources["EventsDeadLetterQueue"].physical_id
        reasons: list[str] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return reasons
            for message in messages:
                attributes = message.get("MessageAttributes", {})
                reasons.append(
                    attributes.get("reason", {}).get("StringValue", "no reason recorded (retries ran out)")
                )
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    @property
    def _stack(self) -> LocalStack:
        if self.stack is None:
            raise RuntimeError("the local stack is not started: use LocalPromotions as a context manager")
        return self.stack


def release_document(releases: list[Release]) -> dict:
    """The `--json` answer of `promotions local run`."""
    return {
        "releases": [
            {
                "id": release.id,
                "product": release.product,
                "flow": release.flow,
                "version": release.version,
                "status": release.status.value,
                "environments": [
                    {"name": run.name, "status": run.status.value, "commit": run.commit}
                    for run in release.environments
                ],
            }
            for release in releases
        ]
    }
