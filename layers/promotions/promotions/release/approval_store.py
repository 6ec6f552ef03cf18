"""Approvals in DynamoDB: each under its release's approvals partition, keyed by an id the task token
determines, holding the token, what was asked, who approved and the decision."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, PositiveInt
from pydantic.alias_generators import to_camel
from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

from promotions import clock
from promotions.release.errors import ApprovalNotFound
from promotions.slack.messages import MessageRef


class ApprovalRequest(BaseModel):
    """What an approval check asks for (its parameters), with the check's name and how long it may wait."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    check: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    min_approvals: PositiveInt = 1
    allow_self_approval: bool = False
    channel: str
    text: str
    timeout_minutes: PositiveInt


@dataclass(frozen=True)
class Approver:
    """Who decides: a Slack user ID (or an API identity listed by its own name), and the name people read."""

    id: str
    name: str

    def __str__(self) -> str:
        return self.name if self.name == self.id else f"{self.name} ({self.id})"


def approval_reference(release_id: str, approval_id: str) -> str:
    """What Slack's buttons carry: enough to find the approval, nothing that answers the task."""
    return f"{release_id}/{approval_id}"


def parse_reference(reference: str) -> tuple[str, str]:
    release_id, _, approval_id = reference.rpartition("/")
    if not release_id or not approval_id:
        raise ApprovalNotFound(f"{reference!r} is not an approval reference (release/approval)")
    return release_id, approval_id


def approval_id_for(token: str) -> str:
    """The same task token always names the same approval, so a retried request asks once."""
    return hashlib.sha256(token.encode()).hexdigest()[:24]


def _models(table_name: str) -> Any:
    """Approvals live in the promotions table, each under its release's approvals partition (apart from the
    release's own items, which a release read queries whole)."""

    class ApprovalItem(Model):
        class Meta:
            pass

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        kind = UnicodeAttribute(default="approval")
        environment = UnicodeAttribute()
        token = UnicodeAttribute()
        request = JSONAttribute()
        # Who may not approve their own change: the pushed commit's author (a Slack user), who asked for the
        # release (an API identity).
        authors = ListAttribute(of=UnicodeAttribute, default=list)
        # The promotion's changes as the message shows them, read once when asked.
        changes = UnicodeAttribute(default="")
        channel = UnicodeAttribute(null=True)
        ts = UnicodeAttribute(null=True)
        # Approver id → name: setting one key twice is one approval.
        approvers: MapAttribute = MapAttribute(default=dict)
        decision = UnicodeAttribute(null=True)
        decided_by = UnicodeAttribute(null=True)
        reason = UnicodeAttribute(null=True)
        created_at = UTCDateTimeAttribute()
        # Null on approvals decided before decisions were dated.
        decided_at = UTCDateTimeAttribute(null=True)

    ApprovalItem.Meta.table_name = table_name  # type: ignore[attr-defined]
    return ApprovalItem


def _partition(release_id: str) -> str:
    return f"APPROVALS#{release_id}"


@dataclass(frozen=True)
class StoredApproval:
    release_id: str
    id: str
    environment: str
    token: str
    request: ApprovalRequest
    authors: tuple[str, ...]
    changes: str
    message: MessageRef | None
    approvers: dict[str, str]
    decision: str | None
    decided_by: str | None
    reason: str | None
    created_at: datetime
    decided_at: datetime | None = None

    @property
    def reference(self) -> str:
        return approval_reference(self.release_id, self.id)


class ApprovalStore:
    def __init__(self, table_name: str) -> None:
        self._item = _models(table_name)

    def create(
        self,
        release_id: str,
        environment: str,
        token: str,
        request: ApprovalRequest,
        *,
        authors: Iterable[str],
        changes: str,
    ) -> bool:
        """False when this token's approval exists already (a retried request)."""
        item = self._item(
            pk=_partition(release_id),
            sk=approval_id_for(token),
            environment=environment,
            token=token,
            request=request.model_dump(mode="json", by_alias=True),
            authors=list(authors),
            changes=changes,
            approvers={},
            created_at=clock.now(),
        )
        try:
            item.save(condition=self._item.pk.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def get(self, release_id: str, approval_id: str) -> StoredApproval:
        try:
            return _approval(
                release_id, self._item.get(_partition(release_id), approval_id, consistent_read=True)
            )
        except self._item.DoesNotExist:
            raise ApprovalNotFound(f"release {release_id} has no approval {approval_id}") from None

    def of_release(self, release_id: str) -> list[StoredApproval]:
        """Oldest first."""
        items = self._item.query(_partition(release_id), consistent_read=True)
        return sorted(
            (_approval(release_id, item) for item in items), key=lambda approval: approval.created_at
        )

    def record_message(self, approval: StoredApproval, where: MessageRef) -> None:
        self._item(pk=_partition(approval.release_id), sk=approval.id).update(
            actions=[self._item.channel.set(where.channel), self._item.ts.set(where.ts)]
        )

    def add_approver(self, approval: StoredApproval, approver: Approver) -> dict[str, str] | None:
        """The approvers with this one; None when the approval was decided meanwhile."""
        item = self._item(pk=_partition(approval.release_id), sk=approval.id)
        try:
            item.update(
                actions=[self._item.approvers[approver.id].set(approver.name)],
                condition=self._item.decision.does_not_exist(),
            )
        except UpdateError as error:
            if _condition_failed(error):
                return None
            raise
        return _as_names(item.approvers)

    def decide(
        self, approval: StoredApproval, decision: str, by: str | None, reason: str | None = None
    ) -> bool:
        """Only the first decision counts."""
        actions = [self._item.decision.set(decision), self._item.decided_at.set(clock.now())]
        if by is not None:
            actions.append(self._item.decided_by.set(by))
        if reason is not None:
            actions.append(self._item.reason.set(reason))
        try:
            self._item(pk=_partition(approval.release_id), sk=approval.id).update(
                actions=actions, condition=self._item.decision.does_not_exist()
            )
        except UpdateError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def approvers(self, release_id: str, environment: str) -> list[str]:
        """Everyone who approved the environment's granted approvals, as the promotion commit names them."""
        return [
            str(Approver(user, name))
            for approval in self.of_release(release_id)
            if approval.environment == environment and approval.decision == "approved"
            for user, name in approval.approvers.items()
        ]


def _as_names(approvers: Any) -> dict[str, str]:
    if approvers is None:
        return {}
    raw = approvers.as_dict() if hasattr(approvers, "as_dict") else dict(approvers)
    return {str(key): str(value) for key, value in raw.items()}


def _approval(release_id: str, item: Any) -> StoredApproval:
    return StoredApproval(
        release_id=release_id,
        id=item.sk,
        environment=item.environment,
        token=item.token,
        request=ApprovalRequest.model_validate(item.request),
        authors=tuple(item.authors or ()),
        changes=item.changes or "",
        message=MessageRef(channel=item.channel, ts=item.ts) if item.channel and item.ts else None,
        approvers=_as_names(item.approvers),
        decision=item.decision,
        decided_by=item.decided_by,
        reason=item.reason,
        created_at=item.created_at,
        decided_at=item.decided_at,
    )


def _condition_failed(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"
