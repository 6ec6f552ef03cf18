"""From a push to releases: match the push to product flows, read the version, start one release each; and the
steps every release takes to start, whoever asks for it."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from promotions import clock
from promotions.config import Application, Configuration, PolicyAction
from promotions.config.repository import ConfigRepository
from promotions.edits import read_version
from promotions.push import GitPush
from promotions.release.errors import VersionNotFound
from promotions.release.model import AuditEntry, EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.store import ReleaseStore

if TYPE_CHECKING:
    # Types only: importing the Git engine is left to the remote's maker, at first use.
    from promotions.git import GitRemote, Snapshot

logger = Logger(child=True)


class Executions(Protocol):
    def start(self, release_id: str) -> bool: ...


class RemoteFactory(Protocol):
    def __call__(self, repo_url: str, /) -> GitRemote: ...


class PushOutcome(BaseModel):
    """What a push came to: the releases it triggers (started now or before), or why it triggers none."""

    model_config = ConfigDict(frozen=True)

    release_ids: tuple[str, ...] = ()
    ignored_because: str | None = None


def start_releases(
    push: GitPush,
    configs: ConfigRepository,
    store: ReleaseStore,
    executions: Executions,
    remotes: RemoteFactory,
) -> PushOutcome:
    """Start a release for every product flow the push triggers; a repeated push starts nothing new."""
    if push.branch is None:
        return PushOutcome(ignored_because=f"{push.ref} is not a branch: only branch pushes start releases")
    if push.deletes_ref:
        return PushOutcome(ignored_because=f"the push deletes {push.ref}")
    revision, configuration = configs.latest()
    triggers = configuration.triggered_flows(push)
    if not triggers:
        return PushOutcome(
            ignored_because=(
                f"no product flow is triggered by this push to {push.repo_url} branch {push.branch} "
                f"(configuration revision {revision})"
            )
        )
    release_ids = []
    for trigger in triggers:
        app = trigger.application
        snapshot = remotes(app.repo_url).snapshot(push.after, paths=[app.path])
        source = SourceRevision(
            repo_url=push.repo_url,
            branch=push.branch,
            commit=push.after,
            message=push.commit_message,
            author=push.author_name,
            author_email=push.author_email,
        )
        release = new_release(
            configuration,
            revision,
            product=trigger.product,
            flow=trigger.flow,
            source_environment=trigger.trigger_environment,
            source=source,
            version=version_at(configuration, trigger.product, app, snapshot),
            environments=flow_environments(configuration, trigger.flow),
        )
        launch(release, store, executions)
        release_ids.append(release.id)
    return PushOutcome(release_ids=tuple(release_ids))


def version_at(configuration: Configuration, product: str, app: Application, snapshot: Snapshot) -> str:
    """The product's version as the template's versionSource reads it in `app`'s files of `snapshot`."""
    template = configuration.template_for(product)
    version_file = posixpath.join(app.path, template.version_source.file)
    document = snapshot.read(version_file)
    if document is None:
        raise VersionNotFound(
            f"{product}: versionSource file {version_file} is missing at {snapshot.commit_sha}"
        )
    return read_version(document, template.version_source.json_path, file=version_file)


def flow_environments(configuration: Configuration, flow: str) -> list[EnvironmentRun]:
    """The environments a run of the whole flow promotes, in dependency order."""
    return [
        EnvironmentRun(name=step.environment, depends_on=tuple(step.depends_on))
        for step in configuration.flow_order(flow)
    ]


def new_release(
    configuration: Configuration,
    revision: str,
    *,
    product: str,
    flow: str,
    source_environment: str,
    source: SourceRevision,
    version: str,
    environments: list[EnvironmentRun],
    request: str = "",
    audit: tuple[AuditEntry, ...] = (),
    action: PolicyAction | None = None,
) -> Release:
    """A release promoting `source` (the source environment's commit, done already) into `environments`.

    A push's release and one a person asks for (a whole flow, or one environment) are the same kind of
    thing: one execution of the state machine, with the same gates. `request` tells apart the releases people
    ask for (see release_id_for).
    """
    return Release(
        id=release_id_for(product, flow, source, request),
        product=product,
        flow=flow,
        version=version,
        trigger_environment=source_environment,
        source=source,
        config_revision=revision,
        status=ReleaseStatus.QUEUED,
        created_at=clock.now(),
        environments=[
            EnvironmentRun(
                name=source_environment, status=EnvironmentStatus.SUCCESSFUL, commit=source.commit
            ),
            *environments,
        ],
        audit=audit,
        action=action,
    )


def launch(release: Release, store: ReleaseStore, executions: Executions) -> bool:
    """Store the release and start its execution; False when both existed already (the same event or request
    again)."""
    created = store.create(release)
    started = executions.start(release.id)
    logger.info(
        "release started" if created or started else "release exists already",
        extra={
            "release": release.id,
            "product": release.product,
            "flow": release.flow,
            "version": release.version,
        },
    )
    return created or started
