"""Builds the engine's parts from the deployment's environment variables, once per process.

Each part is built on first use, and its modules are imported then (hence the imports inside the methods): a
handler's cold start pays only for the parts it uses. Recording a task token imports no Git, checks or edits;
the commit signing key's `cryptography` comes with a configured key alone; AWS clients are made when first
called for; and the X-Ray SDK is imported only where tracing is on.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

if TYPE_CHECKING:
    from promotions.aws.stepfunctions import ReleaseExecutions
    from promotions.config.repository import ConfigRepository
    from promotions.git import GitRemote, HttpCredentials
    from promotions.git.credentials import GitCredentials
    from promotions.release.approval_store import ApprovalStore
    from promotions.release.approvals import Approvals
    from promotions.release.commit_statuses import CommitStatuses
    from promotions.release.concurrency import ReleaseConcurrency
    from promotions.release.engine import ReleaseEngine
    from promotions.release.gates import Gates
    from promotions.release.leases import ReleaseLeases
    from promotions.release.notifications import Notifications
    from promotions.release.promotion import Promoter
    from promotions.release.slack_releases import SlackReleases
    from promotions.release.store import ReleaseStore
    from promotions.release.termination import Termination
    from promotions.slack.client import SlackClient


class MissingSetting(KeyError):
    def __str__(self) -> str:
        return f"environment variable {self.args[0]} is not set; template.yaml sets it for every function that needs it"


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSetting(name)
    return value


def tracing_is_on() -> bool:
    """Whether this function traces with X-Ray: template.yaml's Tracing parameter sets POWERTOOLS_TRACE_DISABLED
    with the function's Tracing, and Powertools never traces outside Lambda (no LAMBDA_TASK_ROOT)."""
    disabled = resolve_truthy_env_var_choice(env=os.environ.get("POWERTOOLS_TRACE_DISABLED", "false"))
    return not disabled and "LAMBDA_TASK_ROOT" in os.environ


def traced(handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler` under Powertools' Tracer where tracing is on; elsewhere `handler` itself, without the X-Ray SDK,
    whose import is a good part of a cold start."""
    if not tracing_is_on():
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler(handler)


@dataclass(frozen=True)
class Settings:
    promotions_table: str
    config_repo_url: str
    config_repo_branch: str
    config_path: str
    commit_author_name: str
    commit_author_email: str
    git_credentials_secret: str | None
    commit_signing_key_secret: str | None
    # The Slack app of approvals: {"botToken", "signingSecret"}; its Web API (a stand-in's, locally); where
    # approval messages link a release.
    slack_secret: str | None = None
    slack_api_url: str | None = None
    release_link_prefix: str | None = None
    # The project's bus, where status changes are put; None puts none.
    event_bus_name: str | None = None

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            promotions_table=_required("PROMOTIONS_TABLE"),
            config_repo_url=_required("CONFIG_REPO_URL"),
            config_repo_branch=os.environ.get("CONFIG_REPO_BRANCH") or "main",
            config_path=os.environ.get("CONFIG_PATH", ""),
            git_credentials_secret=os.environ.get("GIT_CREDENTIALS_SECRET_ARN") or None,
            commit_signing_key_secret=os.environ.get("COMMIT_SIGNING_KEY_SECRET_ARN") or None,
            commit_author_name=os.environ.get("COMMIT_AUTHOR_NAME") or "Promotions",
            commit_author_email=os.environ.get("COMMIT_AUTHOR_EMAIL") or "promotions@noreply.local",
            slack_secret=os.environ.get("SLACK_SECRET_ARN") or None,
            slack_api_url=os.environ.get("SLACK_API_URL") or None,
            release_link_prefix=os.environ.get("RELEASE_LINK_PREFIX") or None,
            event_bus_name=os.environ.get("EVENT_BUS_NAME") or None,
        )


class Services:
    """The engine's parts, wired for this deployment, each built (and its modules imported) on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def release_url(self, release_id: str) -> str | None:
        """The release's page, where one is configured (RELEASE_LINK_PREFIX)."""
        prefix = self.settings.release_link_prefix
        return f"{prefix}{release_id}" if prefix else None

    @functools.cached_property
    def store(self) -> ReleaseStore:
        from promotions.release.store import ReleaseStore

        store = ReleaseStore(self.settings.promotions_table)
        store.observe(self._notifications(store))
        return store

    def _notifications(self, store: ReleaseStore) -> Notifications:
        """Delivery metrics from every status change, and the change put on the bus where there is one."""
        from promotions.aws.emf_metrics import EmfMeasurements
        from promotions.release.notifications import Notifications, Watcher
        from promotions.release.promotion_metrics import PromotionMetrics

        measurements = EmfMeasurements()
        watchers: list[Watcher] = [PromotionMetrics(self.approval_store, measurements)]
        if self.settings.event_bus_name:
            from promotions.aws.event_bus import EventBus
            from promotions.release.status_events import StatusEvents

            bus = EventBus(self.settings.event_bus_name)
            watchers.append(StatusEvents(bus, measurements, self.release_url))
        return Notifications(store.get, watchers)

    @functools.cached_property
    def git_credentials(self) -> GitCredentials:
        from promotions.git.credentials import GitCredentials

        return GitCredentials(self.settings.git_credentials_secret)

    def remote(self, repo_url: str) -> GitRemote:
        """The remote of `repo_url` with its current credentials, kept while the container lives: its kept-alive
        connections, what its server offers and refuses, and the objects it fetched lately serve the next
        promotions too. Rotated credentials make a new one."""
        return self._remote(repo_url, self.git_credentials.for_url(repo_url))

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one Services per container, kept for its life
    def _remote(self, repo_url: str, credentials: HttpCredentials | None) -> GitRemote:
        from promotions.git import GitRemote

        return GitRemote(repo_url, credentials=credentials)

    @functools.cached_property
    def configs(self) -> ConfigRepository:
        from promotions.config.repository import ConfigRepository

        return ConfigRepository(
            self.remote(self.settings.config_repo_url),
            self.settings.config_repo_branch,
            self.settings.config_path,
            self.store,
        )

    @functools.cached_property
    def stepfunctions(self):
        import boto3

        return boto3.client("stepfunctions")

    @functools.cached_property
    def engine(self) -> ReleaseEngine:
        from promotions.aws.stepfunctions import StepFunctionsTaskTokens
        from promotions.release.engine import ReleaseEngine

        return ReleaseEngine(self.store, StepFunctionsTaskTokens(self.stepfunctions))

    @functools.cached_property
    def promoter(self) -> Promoter:
        from promotions.git import Author
        from promotions.git.signing_key import SecretsManagerCommitSigner
        from promotions.gitproviders.apis import PullRequestApis
        from promotions.http import HttpClient
        from promotions.release.promotion import Promoter

        secret = self.settings.commit_signing_key_secret
        return Promoter(
            self.store,
            self.configs,
            self.remote,
            Author(name=self.settings.commit_author_name, email=self.settings.commit_author_email),
            PullRequestApis(self.git_credentials, HttpClient()),
            signer=SecretsManagerCommitSigner(secret) if secret else None,
            leases=self.leases,
            approved_by=self.approval_store.approvers,
        )

    @functools.cached_property
    def commit_statuses(self) -> CommitStatuses:
        from promotions.gitproviders.apis import PullRequestApis
        from promotions.http import HttpClient
        from promotions.release.commit_statuses import CommitStatuses

        return CommitStatuses(
            self.store, self.configs, PullRequestApis(self.git_credentials, HttpClient()), self.release_url
        )

    @functools.cached_property
    def slack_releases(self) -> SlackReleases:
        from promotions.release.slack_releases import SlackReleases

        return SlackReleases(
            self.settings.promotions_table,
            self.store,
            self.configs,
            lambda: self.slack if self.settings.slack_secret else None,
            self.release_url,
        )

    @functools.cached_property
    def gates(self) -> Gates:
        from promotions.checks.aws import aws_check_services
        from promotions.release.gates import Gates

        return Gates(
            self.store,
            self.configs,
            aws_check_services(),
            self.settings.commit_author_name,
            git_credentials_secret=self.settings.git_credentials_secret,
            release_url=self.release_url,
        )

    @functools.cached_property
    def leases(self) -> ReleaseLeases:
        from promotions.release.leases import ReleaseLeases

        return ReleaseLeases(self.settings.promotions_table)

    @functools.cached_property
    def release_executions(self) -> ReleaseExecutions:
        from promotions.aws.stepfunctions import ReleaseExecutions

        return ReleaseExecutions(self.stepfunctions, _required("STATE_MACHINE_ARN"))

    @functools.cached_property
    def termination(self) -> Termination:
        from promotions.release.termination import Termination

        return Termination(
            self.store, self.leases, self.engine, self.release_executions, configs=self.configs
        )

    @functools.cached_property
    def executions(self) -> ReleaseConcurrency:
        """Starts releases as their product's concurrency policy allows: now, or once the active one ends."""
        from promotions.release.concurrency import ReleaseConcurrency

        return ReleaseConcurrency(
            self.store, self.leases, self.release_executions, self.termination, self.configs.at
        )

    @functools.cached_property
    def approval_store(self) -> ApprovalStore:
        from promotions.release.approval_store import ApprovalStore

        return ApprovalStore(self.settings.promotions_table)

    def slack_app(self) -> dict[str, str]:
        """The Slack app's secret, {"botToken", "signingSecret"}, cached for five minutes (rotations arrive)."""
        from aws_lambda_powertools.utilities import parameters

        if self.settings.slack_secret is None:
            raise MissingSetting("SLACK_SECRET_ARN")
        app = parameters.get_secret(self.settings.slack_secret, transform="json", max_age=300)
        missing = [
            key for key in ("botToken", "signingSecret") if not isinstance(app, dict) or not app.get(key)
        ]
        if missing:
            raise ValueError(f"Slack secret {self.settings.slack_secret} lacks {', '.join(missing)}")
        return app

    @functools.cached_property
    def slack(self) -> SlackClient:
        from promotions.slack.client import SlackClient

        return SlackClient(self.slack_app()["botToken"], base_url=self.settings.slack_api_url)

    @functools.cached_property
    def approvals(self) -> Approvals:
        from promotions.aws.stepfunctions import StepFunctionsTaskTokens
        from promotions.release.approvals import Approvals

        return Approvals(
            self.approval_store,
            self.store,
            self.configs,
            self.remote,
            self.slack if self.settings.slack_secret else None,
            StepFunctionsTaskTokens(self.stepfunctions),
            release_url=self.release_url,
        )


@functools.cache
def services() -> Services:
    return Services(Settings.from_environment())
