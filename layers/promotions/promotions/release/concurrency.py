"""Releases of one product take turns, as the product's PromotionConcurrency says (Codefresh's queue and
terminate policies): one is active, the others wait in the product's queue, oldest first.

Every new release is queued, then the queue moves: when no release of the product is active, its oldest
queued release becomes the active one and its execution starts. A release that ends moves the queue again.
Whoever moves it claims the product with a conditional write, so two parties never start two releases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from promotions.aws.stepfunctions import termination_execution
from promotions.config import ConcurrencyPolicy, Configuration
from promotions.errors import TransientError
from promotions.release.leases import ReleaseLeases
from promotions.release.model import Release
from promotions.release.start import Executions
from promotions.release.status import ReleaseStatus
from promotions.release.store import ReleaseNotFound, ReleaseStore
from promotions.release.termination import ReleaseAlreadyFinal, Termination

logger = Logger(child=True)

# The actor concurrency acts as when it terminates a release.
CONCURRENCY_ACTOR = "promotion concurrency"
_CLAIM_ATTEMPTS = 10
ABANDONED = "its execution ended without closing the release"
# Longer than the promote function may run (template.yaml: Timeout 300): the lock of a promotion that
# crashed frees itself a minute after the promotion could have ended at the latest.
PUSH_LEASE_SECONDS = 360


class QueueContention(RuntimeError, TransientError):
    """Other parties kept moving the product's queue under every attempt; moving it again later succeeds."""


class EnvironmentLocked(RuntimeError):
    """Another release of the product is writing to the environment. Not a failure: the state machine's
    Promote retries this error, by its name, until the lock is free."""


class TerminatedBeforePush(RuntimeError):
    """The release was terminated before its promotion could start writing: nothing was written."""


@contextmanager
def holding_environment(
    leases: ReleaseLeases, store: ReleaseStore, release: Release, environment: str
) -> Iterator[None]:
    """Write to `environment` only while no other release of the product does, and only while `release` is
    not terminated: a push under way when its release is terminated finishes, one not begun never starts."""
    holder = leases.lock_environment(release.product, environment, release.id, PUSH_LEASE_SECONDS)
    if holder is not None:
        raise EnvironmentLocked(
            f"release {holder} is promoting {release.product} into {environment}: waiting for it"
        )
    try:
        status = store.get(release.id).status
        if status in (ReleaseStatus.TERMINATING, ReleaseStatus.TERMINATED):
            raise TerminatedBeforePush(
                f"release {release.id} was terminated before it wrote to {environment}"
            )
        yield
    finally:
        leases.unlock_environment(release.product, environment, release.id)


class RetryableExecutions(Executions, Protocol):
    def retry(self, release_id: str, attempt: int) -> bool: ...

    def ended(self, execution: str) -> bool:
        """Whether the named execution ran and is no longer running (False for one never started)."""


@dataclass(frozen=True)
class Admission:
    release_id: str
    # Started now, or waiting (Queued) for the product's active release to end.
    started: bool
    # The releases this one's arrival terminated (the active one, under the terminate policy; the oldest
    # waiting ones, past the queue's limit).
    terminated: tuple[str, ...] = ()


class ReleaseConcurrency:
    """Implements promotions.release.start.Executions: `start` admits a release as its product allows."""

    def __init__(
        self,
        store: ReleaseStore,
        leases: ReleaseLeases,
        executions: RetryableExecutions,
        termination: Termination,
        configuration_at: Callable[[str], Configuration],
    ) -> None:
        self._store = store
        self._leases = leases
        self._executions = executions
        self._termination = termination
        self._configuration_at = configuration_at

    def start(self, release_id: str) -> bool:
        """Admit the release: start it now or queue it; False when it was admitted before (the same event or
        request again)."""
        release = self._store.get(release_id)
        waiting = [queued.release_id for queued in self._leases.queued(release.product)]
        if release.status is not ReleaseStatus.QUEUED or self._leases.active(release.product) == release_id:
            return False
        if release_id in waiting:
            self.start_next(release.product)
            return False
        self.admit(release)
        return True

    def retry(self, release_id: str, attempt: int) -> bool:
        """Run a failed release again at once (promotions.aws.stepfunctions.ReleaseExecutions.retry); its
        pushes still take their environments' locks."""
        return self._executions.retry(release_id, attempt)

    def admit(self, release: Release) -> Admission:
        settings = self._configuration_at(release.config_revision).concurrency_for(release.product).spec
        self._leases.enqueue(release.product, release.id, release.created_at)
        waiting = [queued.release_id for queued in self._leases.queued(release.product)]
        terminated: list[str] = []
        if settings.policy is ConcurrencyPolicy.TERMINATE:
            # Only one release of the product lives on: the newest. Older waiting ones go too.
            older = waiting[: waiting.index(release.id)] if release.id in waiting else []
            for other in (self._leases.active(release.product), *older):
                if other is not None and other != release.id:
                    terminated += self._terminate(
                        other, f"release {release.id} replaced it (policy terminate)"
                    )
        else:
            for oldest in waiting[: max(0, len(waiting) - settings.queue_limit)]:
                terminated += self._terminate(
                    oldest,
                    f"more than {settings.queue_limit} releases of {release.product} were waiting: the oldest "
                    "waiting one made room",
                )
        started = self.start_next(release.product)
        logger.info(
            "release admitted",
            extra={
                "release": release.id,
                "policy": settings.policy.value,
                "started": started == release.id,
                "terminated": terminated,
            },
        )
        return Admission(release.id, started=started == release.id, terminated=tuple(terminated))

    def start_next(self, product: str, *, ending: str | None = None) -> str | None:
        """When no release of the product is active (or the active one is `ending`: its last step, the final
        status, is all that is left), make the oldest waiting one active and start it; the release started,
        if any."""
        for _ in range(_CLAIM_ATTEMPTS):
            active = self._leases.active(product)
            if active is not None and active != ending and self._still_active(active):
                return None
            waiting = self._leases.queued(product)
            if not waiting:
                if active is not None:
                    self._leases.clear_active(product, active)
                return None
            head = waiting[0]
            if self._status(head.release_id) is not ReleaseStatus.QUEUED:
                # Terminated while it waited: it leaves the queue without starting.
                self._leases.dequeue(product, head)
                continue
            if self._leases.take_active(product, head.release_id, replacing=active):
                self._leases.dequeue(product, head)
                self._executions.start(head.release_id)
                logger.info("release started from the queue", extra={"release": head.release_id})
                return head.release_id
        raise QueueContention(f"the queue of {product} kept moving under {_CLAIM_ATTEMPTS} attempts")

    def _still_active(self, release_id: str) -> bool:
        status = self._status(release_id)
        if status is None or status.is_final:
            return False
        if status is ReleaseStatus.QUEUED:
            # Made active, but its start may have been lost with whoever made it so: starting is idempotent.
            self._executions.start(release_id)
            return True
        if self._abandoned(release_id, status):
            # Its execution ended without closing it: the state machine's TimeoutSeconds, or a failure no
            # state caught. It must not hold its product for ever.
            self._store.set_release_status(
                release_id,
                ReleaseStatus.FAILED,
                reason=f"{ABANDONED}; it no longer holds {self._store.get(release_id).product}",
                unless=(ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED, ReleaseStatus.TERMINATED),
            )
            logger.warning("release abandoned by its execution", extra={"release": release_id})
            return False
        return True

    def _abandoned(self, release_id: str, status: ReleaseStatus) -> bool:
        if not self._executions.ended(self._leases.execution(release_id) or release_id):
            return False
        # A Terminating release is finished by an execution of its own (ReleaseExecutions.terminate).
        return status is not ReleaseStatus.TERMINATING or self._executions.ended(
            termination_execution(release_id)
        )

    def _status(self, release_id: str) -> ReleaseStatus | None:
        try:
            return self._store.get(release_id).status
        except ReleaseNotFound:
            return None

    def _terminate(self, release_id: str, reason: str) -> list[str]:
        try:
            self._termination.terminate(release_id, CONCURRENCY_ACTOR, reason=reason)
        except ReleaseAlreadyFinal:
            return []
        return [release_id]
