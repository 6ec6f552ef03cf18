"""A release reported on its commits, as people look at their commits first: for each environment, a commit
status named `promotions/<environment>` on the release's trigger commit and on the commit the release made in
the environment, pending while the environment runs (or waits), then success or failure.

Reported from the environment's status as the release store holds it when the report is made, not as the
event that asked for it says: events may arrive out of order, and the last report always tells the latest
status. Only repositories on a known Git host (by host name, or a GitRepository naming its provider) are
reported, with the token the engine pushes with. A host that refuses the status is logged and left alone: a
report never changes the release. A host that is away raises, and the report is made again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from promotions.config import Configuration
from promotions.config.repository import ConfigRepository
from promotions.gitproviders.apis import PullRequestApis
from promotions.gitproviders.errors import GitProviderConfigError, GitProviderError
from promotions.gitproviders.models import CommitState, CommitStatusUpdate
from promotions.gitproviders.selection import provider_name_for
from promotions.release.model import EnvironmentRun, Release
from promotions.release.status import EnvironmentStatus

if TYPE_CHECKING:
    from promotions.release.store import ReleaseStore

logger = Logger(child=True)

_STATES = {
    EnvironmentStatus.PENDING: CommitState.PENDING,
    EnvironmentStatus.RUNNING: CommitState.PENDING,
    EnvironmentStatus.SUSPENDED: CommitState.PENDING,
    EnvironmentStatus.SUCCESSFUL: CommitState.SUCCESS,
    EnvironmentStatus.SUPERSEDED: CommitState.SUCCESS,
    EnvironmentStatus.FAILED: CommitState.FAILURE,
    EnvironmentStatus.TERMINATED: CommitState.FAILURE,
}


def commit_status_name(environment: str) -> str:
    return f"promotions/{environment}"


class CommitStatuses:
    def __init__(
        self,
        store: ReleaseStore,
        configs: ConfigRepository,
        apis: PullRequestApis,
        release_url: Callable[[str], str | None],
    ) -> None:
        self._store = store
        self._configs = configs
        self._apis = apis
        self._release_url = release_url

    def report(self, release_id: str, environment: str) -> None:
        """Set the environment's status on the release's trigger commit and on the environment's commit."""
        release = self._store.get(release_id)
        run = release.environment(environment)
        configuration = self._configs.at(release.config_revision)
        for repo_url, sha in self._commits(configuration, release, run):
            status = CommitStatusUpdate(
                name=commit_status_name(environment),
                state=_STATES[run.status],
                description=_description(release, run),
                # Bitbucket requires a link: without a release page, the repository's.
                url=self._release_url(release.id) or repo_url,
            )
            self._set(configuration, repo_url, sha, status)

    @staticmethod
    def _commits(
        configuration: Configuration, release: Release, run: EnvironmentRun
    ) -> list[tuple[str, str]]:
        commits = [(release.source.repo_url, release.source.commit)]
        if run.commit is not None:
            # The release records the environment's last commit, not its repository: it is known where all of the
            # product's applications in the environment share one.
            repositories = {app.repo_url for app in configuration.applications_of(release.product, run.name)}
            if len(repositories) == 1:
                commits.append((repositories.pop(), run.commit))
        return commits

    def _set(self, configuration: Configuration, repo_url: str, sha: str, status: CommitStatusUpdate) -> None:
        choice = configuration.provider_choice_for(repo_url)
        where = {"repository": repo_url, "commit": sha, "status": status.name, "state": status.state.value}
        if choice.provider is None and provider_name_for(repo_url) is None:
            logger.debug("repository on no known Git host: no commit status", extra=where)
            return
        try:
            self._apis.provider(repo_url, choice).set_commit_status(repo_url, sha, status)
        except (GitProviderError, GitProviderConfigError) as error:
            logger.warning("commit status not set", extra={**where, "error": str(error)})
            return
        logger.info("commit status set", extra=where)


def _description(release: Release, run: EnvironmentRun) -> str:
    said = f"{release.product} {release.version}: {run.status.value}"
    return f"{said} ({run.reason})" if run.reason and not run.status.is_done_well else said
