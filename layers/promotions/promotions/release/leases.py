"""What keeps releases of one product apart, in DynamoDB beside the releases: the product's active release,
its queue of waiting releases, a lock per (product, environment) held while a promotion writes, and the
execution each release runs in.

Every item lives under a partition of its own (`PRODUCT#<product>`, `EXECUTION#<release>`), never under a
release's: a consistent query of a release's partition reads the release alone. The items carry none of the
attributes the release indexes are keyed on, so listings never see them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.models import Model

_ACTIVE_SK = "ACTIVE"
_QUEUE_PREFIX = "QUEUE#"
_LOCK_PREFIX = "LOCK#"
_EXECUTION_SK = "CURRENT"


def _product_pk(product: str) -> str:
    return f"PRODUCT#{product}"


class _LeaseItem(Model):
    class Meta:
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    holder = UnicodeAttribute(null=True)
    # Seconds since the epoch, by the wall clock: a lease outlives a crash by real time, which the
    # fast-forwarded promotions.clock of the local stack does not measure.
    expires_at = NumberAttribute(null=True)
    execution = UnicodeAttribute(null=True)


def _lease_model(table_name: str) -> type[_LeaseItem]:
    """Bound to one table per store, for the reason promotions.release.store._models gives."""

    class LeaseItem(_LeaseItem):
        class Meta:
            pass

    LeaseItem.Meta.table_name = table_name  # type: ignore[attr-defined]
    return LeaseItem


@dataclass(frozen=True)
class QueuedRelease:
    release_id: str
    queued_at: str


class ReleaseLeases:
    def __init__(self, table_name: str) -> None:
        self._item = _lease_model(table_name)

    # --- the product's active release -------------------------------------------------------------------

    def active(self, product: str) -> str | None:
        try:
            return self._item.get(_product_pk(product), _ACTIVE_SK, consistent_read=True).holder
        except self._item.DoesNotExist:
            return None

    def take_active(self, product: str, release_id: str, *, replacing: str | None) -> bool:
        """Make `release_id` the product's active release, if the active one is still `replacing` (None: no
        release is active); False when another party changed it first."""
        item = self._item(pk=_product_pk(product), sk=_ACTIVE_SK, holder=release_id)
        condition = self._item.pk.does_not_exist() if replacing is None else self._item.holder == replacing
        return _conditionally(lambda: item.save(condition=condition))

    def clear_active(self, product: str, release_id: str) -> bool:
        """The product has no active release any more, if `release_id` still was it."""
        item = self._item(pk=_product_pk(product), sk=_ACTIVE_SK)
        return _conditionally(lambda: item.delete(condition=self._item.holder == release_id))

    # --- the product's queue, oldest first -------------------------------------------------------------

    def enqueue(self, product: str, release_id: str, created_at: datetime) -> None:
        # Ordered by the release's creation, then its id: the same release queued twice is one item.
        self._item(pk=_product_pk(product), sk=f"{_QUEUE_PREFIX}{created_at.isoformat()}#{release_id}").save()

    def queued(self, product: str) -> list[QueuedRelease]:
        return [
            QueuedRelease(
                release_id=item.sk.rpartition("#")[2], queued_at=item.sk.removeprefix(_QUEUE_PREFIX)
            )
            for item in self._item.query(
                _product_pk(product), self._item.sk.startswith(_QUEUE_PREFIX), consistent_read=True
            )
        ]

    def dequeue(self, product: str, queued: QueuedRelease) -> bool:
        """Take a release off the queue; False when it was not (or no longer) there."""
        item = self._item(pk=_product_pk(product), sk=f"{_QUEUE_PREFIX}{queued.queued_at}")
        return _conditionally(lambda: item.delete(condition=self._item.pk.exists()))

    # --- a lock per (product, environment) -------------------------------------------------------------

    def lock_environment(
        self, product: str, environment: str, release_id: str, lease_seconds: float
    ) -> str | None:
        """Hold the environment for `release_id` for `lease_seconds` (taken again by its holder, or once the
        lease ran out); None when held, else the release holding it."""
        now = time.time()
        item = self._item(
            pk=_product_pk(product),
            sk=f"{_LOCK_PREFIX}{environment}",
            holder=release_id,
            expires_at=now + lease_seconds,
        )
        free = (
            self._item.pk.does_not_exist() | (self._item.holder == release_id) | (self._item.expires_at < now)
        )
        if _conditionally(lambda: item.save(condition=free)):
            return None
        return self.environment_holder(product, environment) or "another release"

    def environment_holder(self, product: str, environment: str) -> str | None:
        try:
            item = self._item.get(_product_pk(product), f"{_LOCK_PREFIX}{environment}", consistent_read=True)
        except self._item.DoesNotExist:
            return None
        return item.holder if item.expires_at is not None and item.expires_at >= time.time() else None

    def unlock_environment(self, product: str, environment: str, release_id: str) -> bool:
        item = self._item(pk=_product_pk(product), sk=f"{_LOCK_PREFIX}{environment}")
        return _conditionally(lambda: item.delete(condition=self._item.holder == release_id))

    # --- the execution a release runs in ---------------------------------------------------------------

    def record_execution(self, release_id: str, execution: str) -> None:
        """The execution now running the release (its first, or a retry's): the one to stop."""
        self._item(pk=f"EXECUTION#{release_id}", sk=_EXECUTION_SK, execution=execution).save()

    def execution(self, release_id: str) -> str | None:
        try:
            return self._item.get(f"EXECUTION#{release_id}", _EXECUTION_SK, consistent_read=True).execution
        except self._item.DoesNotExist:
            return None


def _conditionally(write) -> bool:
    try:
        write()
    except (PutError, UpdateError, DeleteError) as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
