"""From a push to releases: match the push to product flows, read the version, start one release each."""

from __future__ import annotations

import posixpath
from typing import Protocol

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from promotions import clock
from promotions.config.repository import ConfigRepository
from promotions.edits import read_version
from promotions.git import GitRemote
from promotions.push import GitPush
from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.store import ReleaseStore

logger = Logger(child=True)


class Executions(Protocol):
    def start(self, release_id: str) -> bool: ...


class RemoteFactory(Protocol):
    def __call__(self, repo_url: str) -> GitRemote: ...


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
        template = configuration.template_for(trigger.product)
        app = trigger.application
        version_file = posixpath.join(app.path, template.version_source.file)
        snapshot = remotes(app.repo_url).snapshot(push.after, paths=[app.path])
        document = snapshot.read(version_file)
        if document is None:
            raise VersionNotFound(
                f"{trigger.product}: versionSource file {version_file} is missing at {push.after}"
            )
        source = SourceRevision(
            repo_url=push.repo_url,
            branch=push.branch,
            commit=push.after,
            message=push.commit_message,
            author=push.author_name,
        )
        release = Release(
            id=release_id_for(trigger.product, trigger.flow, source),
            product=trigger.product,
            flow=trigger.flow,
            version=read_version(document, template.version_source.json_path, file=version_file),
            trigger_environment=trigger.trigger_environment,
            source=source,
            config_revision=revision,
            status=ReleaseStatus.QUEUED,
            created_at=clock.now(),
            environments=[
                EnvironmentRun(
                    name=trigger.trigger_environment, status=EnvironmentStatus.SUCCESSFUL, commit=push.after
                ),
                *(
                    EnvironmentRun(name=step.environment, depends_on=tuple(step.depends_on))
                    for step in configuration.flow_order(trigger.flow)
                ),
            ],
        )
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
        release_ids.append(release.id)
    return PushOutcome(release_ids=tuple(release_ids))


class VersionNotFound(LookupError):
    """The push triggers a flow but its versionSource file is missing: the event cannot become a release."""
