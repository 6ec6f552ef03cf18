"""Rolling an environment back: promote an earlier release's properties into it again, as a release of its
own through the same state machine and gates, started the way every release starts (promotions.release.start).

The rollback release copies the template's properties from the earlier release's source commit, so the
environment gets back the earlier values and keeps its own (what the template does not promote). It is the
one release allowed to move an environment backwards (Promoter.promote skips the never-backwards check for
it), and its commits say so in a `Promotion-Rollback-Of: <release>` trailer.
"""

from __future__ import annotations

import uuid

from aws_lambda_powertools import Logger

from promotions.config import Verb
from promotions.config.repository import ConfigRepository
from promotions.release.errors import RollbackRefused
from promotions.release.model import EnvironmentRun, Release
from promotions.release.permissions import Authorization, Identity
from promotions.release.start import Executions, launch, new_release
from promotions.release.status import EnvironmentStatus
from promotions.release.store import ReleaseNotFound, ReleaseStore

logger = Logger(child=True)

# How many of the product's latest releases are searched for the one that changed the environment before.
_SEARCHED_RELEASES = 200
_PAGE = 50


class Rollbacks:
    def __init__(self, configs: ConfigRepository, store: ReleaseStore, executions: Executions) -> None:
        self._configs = configs
        self._store = store
        self._executions = executions
        self._authorization = Authorization(store)

    def rollback(
        self,
        product: str,
        environment: str,
        identity: Identity,
        *,
        to_release: str | None = None,
        request: str | None = None,
    ) -> Release:
        """Start a release that promotes `to_release`'s properties (by default those of the release that
        changed the environment before the one it runs now) back into `environment`. `request` names the
        request: the same request again is the same release; without one, every call is a rollback of its own.
        The caller needs `rollback` in the environment."""
        revision, configuration = self._configs.latest()
        if product not in configuration.products:
            raise RollbackRefused(f"no Product {product} in configuration revision {revision}")
        if environment not in configuration.environments:
            raise RollbackRefused(f"no Environment {environment} in configuration revision {revision}")
        if not configuration.applications_of(product, environment):
            raise RollbackRefused(f"{product} has no application in environment {environment}")
        target = (
            self._chosen(product, environment, to_release)
            if to_release
            else self._previous(product, environment)
        )
        if environment == target.trigger_environment:
            raise RollbackRefused(
                f"{environment} is the trigger environment of release {target.id}: its properties are promoted from "
                "there, not into it; revert its commit in Git instead"
            )
        if target.flow not in configuration.flows:
            raise RollbackRefused(
                f"release {target.id} ran flow {target.flow}, which configuration revision {revision} no longer "
                "defines: its environment's policy and gates are unknown"
            )
        asked = self._authorization.for_new_release(
            configuration,
            identity,
            Verb.ROLLBACK,
            product,
            [environment],
            f"{environment} back to release {target.id} ({target.version})",
        )
        release = new_release(
            configuration,
            revision,
            product=product,
            flow=target.flow,
            source_environment=target.trigger_environment,
            source=target.source,
            version=target.version,
            environments=[EnvironmentRun(name=environment)],
            request=f"rollback\0{environment}\0{request or uuid.uuid4().hex}",
            audit=(asked,),
        ).model_copy(update={"rollback_of": target.id})
        launch(release, self._store, self._executions)
        logger.info(
            "rollback started",
            extra={
                "release": release.id,
                "environment": environment,
                "rollbackOf": target.id,
                "actor": identity.actor,
            },
        )
        return release

    def _chosen(self, product: str, environment: str, release_id: str) -> Release:
        try:
            target = self._store.get(release_id)
        except ReleaseNotFound:
            raise RollbackRefused(f"toRelease {release_id}: no such release") from None
        if target.product != product:
            raise RollbackRefused(
                f"toRelease {release_id} is a release of {target.product}, not of {product}"
            )
        return target

    def _previous(self, product: str, environment: str) -> Release:
        """The newest release that changed the environment to another version than the one it runs now."""
        changed = iter(self._releases_that_changed(product, environment))
        current = next(changed, None)
        if current is None:
            raise RollbackRefused(
                f"no release of {product} has changed {environment}: there is nothing to roll back"
            )
        for earlier in changed:
            if earlier.version != current.version:
                return earlier
        raise RollbackRefused(
            f"{environment} has run only {product} {current.version} in the last {_SEARCHED_RELEASES} releases: "
            "there is nothing earlier to roll back to; name one with toRelease"
        )

    def _releases_that_changed(self, product: str, environment: str):
        token, searched = None, 0
        while searched < _SEARCHED_RELEASES:
            page = self._store.list_releases(product=product, limit=_PAGE, next_token=token)
            for summary in page.releases:
                release = self._store.get(summary.id)
                runs = [run for run in release.environments if run.name == environment]
                if runs and runs[0].status is EnvironmentStatus.SUCCESSFUL and runs[0].commit:
                    yield release
            searched += len(page.releases)
            token = page.next_token
            if token is None:
                return
