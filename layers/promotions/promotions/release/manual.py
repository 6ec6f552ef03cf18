"""Releases people ask for: run a product's flow now, promote one environment, retry a failed release.

Each is a release like a push's (promotions.release.start): stored, then run by one execution of the same state
machine through the same gates. Who asked, when and what is kept on the release's audit trail.
"""

from __future__ import annotations

from typing import Protocol

from promotions import clock
from promotions.config import Application, Configuration, PolicyAction, Product
from promotions.config.repository import ConfigRepository
from promotions.git import RefNotFound
from promotions.release.engine import ReleaseNotRetryable
from promotions.release.model import AuditEntry, EnvironmentRun, Release, SourceRevision
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

TRIGGER = "trigger"
PROMOTE = "promote"
RETRY = "retry"


class ProductNotFound(LookupError):
    """The configuration has no product of that name."""


class RequestRefused(ValueError):
    """The request names something that does not fit the configuration; the message says which field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class RetryAlreadyStarted(RuntimeError):
    """Another retry of the release started its execution first."""


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

    def trigger(
        self, product: str, *, flow: str | None, commit: str | None, actor: str, request: str
    ) -> Release:
        """Run one of the product's flows (its first when `flow` is None) for `commit` of its trigger
        environment (the branch tip when None). The same `request` made again is the same release."""
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
        release = new_release(
            configuration,
            revision,
            product=product,
            flow=chosen,
            source_environment=trigger_environment,
            source=source,
            version=version,
            environments=flow_environments(configuration, chosen),
            request=request,
            audit=(_entry(actor, TRIGGER, f"flow {chosen} at {source.commit}"),),
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
        actor: str,
        request: str,
        action: PolicyAction | None = None,
    ) -> Release:
        """Promote one environment, through its step's gates in the first of the product's flows that has it:
        from what an earlier release of the product promoted, or from another environment's current commit
        (the step's first dependency when neither is given); with `action`, instead of the policy's."""
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
            audit=(_entry(actor, PROMOTE, f"{detail}, action {action.value}" if action else detail),),
            action=action,
        )
        launch(release, self._store, self._executions)
        return self._store.get(release.id)

    def retry(self, release_id: str, *, actor: str) -> Release:
        """Run a Failed or Terminated release again (ReleaseEngine.reopen says what runs again). Each retry is an
        execution of its own, numbered after the retries on the audit trail: of two callers at once, one wins
        and the other is told so."""
        release = self._store.get(release_id)
        if release.status not in (ReleaseStatus.FAILED, ReleaseStatus.TERMINATED):
            raise ReleaseNotRetryable(
                f"release {release_id} is {release.status.value}: only a Failed or Terminated release can be "
                "retried"
            )
        attempt = 1 + sum(1 for entry in release.audit if entry.action == RETRY)
        if not self._executions.retry(release_id, attempt):
            raise RetryAlreadyStarted(
                f"retry {attempt} of release {release_id} was started already, by another request or outside "
                "the API: read the release again to see it running"
            )
        self._store.record_audit(release_id, _entry(actor, RETRY, f"attempt {attempt}"))
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


def _entry(actor: str, action: str, detail: str) -> AuditEntry:
    return AuditEntry(at=clock.now(), actor=actor, action=action, detail=detail)
