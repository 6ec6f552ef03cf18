"""Terminating a release: Terminating, then Terminated, whoever asks (a person, the product's concurrency
policy, the flow's promotionTimeoutLimit).

A release still waiting in its product's queue leaves it and ends Terminated at once: nothing of it ran. A
started one is marked Terminating and its execution is stopped, wherever it is (a Wait, a parked
environment, a check); then an execution of its own, the same state machine entered at its end, marks every
unfinished environment Terminated, runs the flow's onFail hooks (their ERROR_MESSAGE names who terminated
it) and closes the release as Terminated, which lets the product's next release start.

Stopping never cuts a push in half: a promotion writes only while it holds its environment's lock, and takes
it only while its release is not Terminating (promotions.release.concurrency.holding_environment); a push
already under way finishes, records its commit, and frees the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools import Logger

from promotions import clock
from promotions.release.engine import ReleaseEngine
from promotions.release.errors import ReleaseAlreadyFinal
from promotions.release.leases import ReleaseLeases
from promotions.release.model import AuditEntry
from promotions.release.permissions import Authorization, Identity
from promotions.release.status import ReleaseStatus
from promotions.release.store import ReleaseStore
from promotions.verbs import Verb

# For types only, for cold start: closing a release (finish_release) reads no configuration.
if TYPE_CHECKING:
    from promotions.config.repository import ConfigRepository

logger = Logger(child=True)

# Who terminates a release that ran past its flow's promotionTimeoutLimit.
TIMEOUT_ACTOR = "the flow's promotionTimeoutLimit"
_ENDED = (ReleaseStatus.SUCCEEDED, ReleaseStatus.FAILED, ReleaseStatus.TERMINATED)


class PromotionTimedOut(RuntimeError):
    """A gate would wait past the flow's promotionTimeoutLimit: the release is terminated. The state machine
    catches this error by its name."""


class StoppableExecutions(Protocol):
    def stop(self, execution: str, cause: str) -> None:
        """Stop a running execution; one that ended already is not an error."""

    def terminate(self, release_id: str) -> bool:
        """Start the execution that finishes a Terminating release; False when it exists already."""


@dataclass(frozen=True)
class TerminationOutcome:
    release_id: str
    # Terminated (it never started) or Terminating (its execution was stopped; it ends Terminated shortly).
    status: ReleaseStatus
    reason: str


class Termination:
    def __init__(
        self,
        store: ReleaseStore,
        leases: ReleaseLeases,
        engine: ReleaseEngine,
        executions: StoppableExecutions,
        *,
        configs: ConfigRepository | None = None,
    ) -> None:
        self._store = store
        self._leases = leases
        self._engine = engine
        self._executions = executions
        # Where the permissions of people who terminate are read; the engine's own terminations need none.
        self._configs = configs
        self._authorization = Authorization(store)

    def terminate(
        self, release_id: str, actor: str | Identity, *, reason: str | None = None
    ) -> TerminationOutcome:
        """Terminate the release on behalf of `actor` (recorded on the release, and named in the reason its
        onFail hooks get); terminating a Terminating release again changes nothing. A person (an Identity)
        needs `terminate` in every environment of the release; the engine itself (the concurrency policy, the
        flow's promotionTimeoutLimit) is named by a string and asks nobody."""
        release = self._store.get(release_id)
        entry = AuditEntry(at=clock.now(), actor=str(actor), action=Verb.TERMINATE, detail=reason or "")
        if isinstance(actor, Identity):
            if self._configs is None:
                raise ValueError("a person's termination needs the configuration's permissions")
            _, configuration = self._configs.latest()
            entry = self._authorization.on_release(
                configuration,
                actor,
                Verb.TERMINATE,
                release,
                [run.name for run in release.environments],
                reason or "",
            )
        if release.status.is_final:
            raise ReleaseAlreadyFinal(
                f"release {release_id} is {release.status.value}: only a Queued or Running release can be "
                "terminated"
            )
        if release.status is ReleaseStatus.TERMINATING:
            return TerminationOutcome(release_id, release.status, release.reason or "")
        why = f"terminated by {actor}" + (f": {reason}" if reason else "")
        if release.status is ReleaseStatus.QUEUED and self._leases.active(release.product) != release_id:
            outcome = self._terminate_waiting(release_id, release.product, why)
        else:
            outcome = self._stop(release_id, why)
        self._store.record_audit(release_id, entry)
        logger.info(
            "release terminated", extra={"release": release_id, "status": outcome.status.value, "reason": why}
        )
        return outcome

    def finish(self, release_id: str) -> None:
        """The terminating execution's first step: whatever had not finished is Terminated, for the reason the
        release was."""
        release = self._store.get(release_id)
        self._engine.terminate_unfinished(release_id, release.reason or "terminated")

    def _terminate_waiting(self, release_id: str, product: str, why: str) -> TerminationOutcome:
        for queued in self._leases.queued(product):
            if queued.release_id == release_id:
                self._leases.dequeue(product, queued)
        if not self._store.set_release_status(
            release_id,
            ReleaseStatus.TERMINATED,
            reason=why,
            unless=(*_ENDED, ReleaseStatus.RUNNING, ReleaseStatus.SUSPENDED, ReleaseStatus.TERMINATING),
        ):
            # It started meanwhile: stop it as any running release.
            return self._stop(release_id, why)
        self._engine.terminate_unfinished(release_id, f"not started: {why}")
        return TerminationOutcome(release_id, ReleaseStatus.TERMINATED, why)

    def _stop(self, release_id: str, why: str) -> TerminationOutcome:
        if not self._store.set_release_status(
            release_id, ReleaseStatus.TERMINATING, reason=why, unless=(*_ENDED, ReleaseStatus.TERMINATING)
        ):
            release = self._store.get(release_id)
            if release.status.is_final:
                raise ReleaseAlreadyFinal(f"release {release_id} ended {release.status.value} meanwhile")
            return TerminationOutcome(release_id, release.status, release.reason or why)
        self._executions.stop(self._leases.execution(release_id) or release_id, why)
        self._executions.terminate(release_id)
        return TerminationOutcome(release_id, ReleaseStatus.TERMINATING, why)
