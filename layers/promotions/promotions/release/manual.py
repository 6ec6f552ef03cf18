"""Releases people ask for: run a product's flow now, promote one environment, retry a failed release.

Each is a release like a push's (promotions.release.start): stored, then run by one execution of the same state
machine through the same gates. Who asked, when and what is kept on the release's audit trail; each asks the configuration's permissions first
(promotions.release.permissions), and a refusal changes nothing.
"""

from __future__ import annotations

from typing import Protocol

from promotions.config import Application, Configuration, PolicyAction, Product, Verb
from promotions.config.repository import ConfigRepository
from promotions.git import RefNotFound
from promotions.release.engine import ReleaseNotRetryable
from promotions.release.errors import ProductNotFound, RequestRefused, RetryAlreadyStarted
from promotions.release.model import EnvironmentRun, Release, SourceRevision
from promotions.release.permissions import Authorization, Identity
from promotions.release.promotion import branch_of
from promotions.release.start import (
    Executions,
    RemoteFactory,
    flow_environments,
    launch,
    new_release,
    version_at,
)
from promotions.release.status import ReleaseStatus
from promotions.release.store import ReleaseNotFound, ReleaseStore

TRIGGER, PROMOTE, RETRY = Verb.TRIGGER, Verb.PROMOTE, Verb.RETRY


class RetryingExecutions(Executions, Protocol):
    def retry(self, release_id: str, attempt: int) -> bool: ...


class ManualReleases:
    def __init__(
        self,
        configs: ConfigRepository,
        store: ReleaseStore,
        executions: RetryingExecutions,
        remotes: RemoteFactory,
    ) -> None:
        self._configs = configs
        self._store = store
        self._executions = executions
        self._remotes = remotes
        self._authorization = Authorization(store)

    def trigger(
        self, product: str, *, flow: str | None, commit: str | None, identity: Identity, request: str
    ) -> Release:
        """Run one of the product's flows (its first when `flow` is None) for `commit` of its trigger
        environment (the branch tip when None). The same `request` made again is the same release. The caller
        needs `trigger` in every environment the flow promotes."""
        revision, configuration = self._configs.latest()
        flows = [ref.name for ref in _product(configuration, product).promotion_flows]
        if not flows:
            raise RequestRefused("product", f"Product {product} names no promotionFlows to run")
        chosen = flow or flows[0]
        if chosen not in flows:
            raise RequestRefused(
                "flow", f"{chosen} is not one of Product {product}'s flows ({', '.join(flows)})"
            )
        trigger_environment = configuration.flows[chosen].trigger_environment
        source, version = self._current(configuration, product, trigger_environment, commit, field="commit")
        environments = flow_environments(configuration, chosen)
        asked = self._authorization.for_new_release(
            configuration,
            identity,
            TRIGGER,
            product,
            [run.name for run in environments],
            f"flow {chosen} at {source.commit}",
        )
        release = new_release(
            configuration,
            revision,
            product=product,
            flow=chosen,
            source_environment=trigger_environment,
            source=source,
            version=version,
            environments=environments,
            request=request,
            audit=(asked,),
        )
        launch(release, self._store, self._executions)
        return self._store.get(release.id)

    def promote(
        self,
        product: str,
        environment: str,
        *,
        from_release: str | None,
        from_environment: str | None,
        identity: Identity,
        request: str,
        action: PolicyAction | None = None,
    ) -> Release:
        """Promote one environment, through its step's gates in the first of the product's flows that has it:
        from what an earlier release of the product promoted, or from another environment's current commit
        (the step's first dependency when neither is given); with `action`, instead of the policy's. The caller
        needs `promote` in the environment."""
        if from_release is not None and from_environment is not None:
            raise RequestRefused("fromRelease", "give fromRelease or fromEnvironment, not both")
        revision, configuration = self._configs.latest()
        flows = [ref.name for ref in _product(configuration, product).promotion_flows]
        flow, step = next(
            ((name, step) for name in flows if (step := configuration.flows[name].step(environment))),
            (None, None),
        )
        if flow is None or step is None:
            raise RequestRefused(
                "environment",
                f"{environment} is not a step of any of Product {product}'s flows ({', '.join(flows) or 'none'}): "
                "a promotion runs that step's gates",
            )
        if from_release is not None:
            earlier = self._earlier_release(product, from_release)
            source_environment, source, version = earlier.trigger_environment, earlier.source, earlier.version
            detail = f"{environment} from release {from_release}"
        else:
            source_environment = from_environment or step.depends_on[0]
            source, version = self._current(
                configuration, product, source_environment, None, field="fromEnvironment"
            )
            detail = f"{environment} from {source_environment} at {source.commit}"
        if source_environment == environment:
            raise RequestRefused(
                "fromEnvironment" if from_release is None else "fromRelease",
                f"{environment} cannot be promoted from itself",
            )
        asked = self._authorization.for_new_release(
            configuration,
            identity,
            PROMOTE,
            product,
            [environment],
            f"{detail}, action {action.value}" if action else detail,
        )
        release = new_release(
            configuration,
            revision,
            product=product,
            flow=flow,
            source_environment=source_environment,
            source=source,
            version=version,
            environments=[EnvironmentRun(name=environment)],
            request=request,
            audit=(asked,),
            action=action,
        )
        launch(release, self._store, self._executions)
        return self._store.get(release.id)

    def retry(self, release_id: str, *, identity: Identity) -> Release:
        """Run a Failed or Terminated release again (ReleaseEngine.reopen says what runs again). Each retry is an
        execution of its own, numbered after the retries on the audit trail: of two callers at once, one wins
        and the other is told so. The caller needs `retry` in every environment of the release."""
        release = self._store.get(release_id)
        if release.status not in (ReleaseStatus.FAILED, ReleaseStatus.TERMINATED):
            raise ReleaseNotRetryable(
                f"release {release_id} is {release.status.value}: only a Failed or Terminated release can be "
                "retried"
            )
        attempt = 1 + sum(
            1 for entry in release.audit if entry.action == RETRY and entry.outcome == "allowed"
        )
        _, configuration = self._configs.latest()
        asked = self._authorization.on_release(
            configuration,
            identity,
            RETRY,
            release,
            [run.name for run in release.environments],
            f"attempt {attempt}",
        )
        if not self._executions.retry(release_id, attempt):
            raise RetryAlreadyStarted(
                f"retry {attempt} of release {release_id} was started already, by another request or outside "
                "the API: read the release again to see it running"
            )
        self._store.record_audit(release_id, asked)
        return self._store.get(release_id)

    def _earlier_release(self, product: str, release_id: str) -> Release:
        try:
            earlier = self._store.get(release_id)
        except ReleaseNotFound as error:
            raise RequestRefused("fromRelease", f"there is no release {release_id}") from error
        if earlier.product != product:
            raise RequestRefused(
                "fromRelease", f"release {release_id} is of Product {earlier.product}, not {product}"
            )
        return earlier

    def _current(
        self, configuration: Configuration, product: str, environment: str, commit: str | None, *, field: str
    ) -> tuple[SourceRevision, str]:
        """The source an environment offers: `commit` of its application's branch, or the branch tip."""
        app = _source_application(configuration, product, environment, field)
        branch = branch_of(app, self._remotes)
        try:
            snapshot = self._remotes(app.repo_url).snapshot(commit or branch, paths=[app.path])
        except RefNotFound as error:
            raise RequestRefused(field, f"{commit or branch} is not in {app.repo_url}: {error}") from error
        source = SourceRevision(repo_url=app.repo_url, branch=branch, commit=snapshot.commit_sha)
        return source, version_at(configuration, product, app, snapshot)


def _product(configuration: Configuration, name: str) -> Product:
    if name not in configuration.products:
        raise ProductNotFound(f"there is no Product {name} in the configuration")
    return configuration.products[name]


def _source_application(
    configuration: Configuration, product: str, environment: str, field: str
) -> Application:
    if environment not in configuration.environments:
        raise RequestRefused(field, f"there is no Environment {environment} in the configuration")
    apps = configuration.applications_of(product, environment)
    if not apps:
        raise RequestRefused(field, f"Product {product} has no application in environment {environment}")
    # A product's applications in one environment share the source repository (as a push's release assumes).
    return apps[0]
