"""Releases in DynamoDB (pynamodb): one item for the release, one per environment, under one partition.

An item per environment lets parallel environments update their own status without contending on one
item, and a consistent query of the partition reads the whole release at once.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import operator
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import ALL_OLD, ATTRIBUTES
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from promotions import clock
from promotions.actions import PolicyAction
from promotions.errors import TransientError
from promotions.release.approval_store import ApprovalStore, Approver, StoredApproval
from promotions.release.errors import ReleaseNotFound, UnknownPageToken
from promotions.release.model import (
    ApprovalRecord,
    AuditEntry,
    CheckRecord,
    CheckStage,
    CheckState,
    EnvironmentFailure,
    EnvironmentRun,
    PullRequestRecord,
    Release,
    ReleaseSummary,
    SourceRevision,
)
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.release.status_changes import (
    EnvironmentStatusChange,
    ReleaseStatusChange,
    StatusChange,
    StatusObserver,
)

_RELEASE_SK = "RELEASE"
# Every release item carries this in `listing`, so that one index lists all releases newest first.
_LISTED = "RELEASES"
# template.yaml's PromotionsTable declares both indexes.
RELEASES_BY_TIME = "releases-by-time"
RELEASES_BY_PRODUCT = "releases-by-product"


def _release_pk(release_id: str) -> str:
    return f"RELEASE#{release_id}"


def _decisions_pk(product: str) -> str:
    return f"DECISIONS#{product}"


def _environment_sk(name: str) -> str:
    return f"ENV#{name}"


def _check_sk(environment: str, stage: CheckStage, name: str) -> str:
    return f"CHECK#{environment}#{stage.value}#{name}"


_STAGE_ORDER = {stage: rank for rank, stage in enumerate(CheckStage)}


def _listed_at(release: Release) -> str:
    """Sorts as the release's creation time, then its id for releases created in the same instant."""
    return f"{release.created_at.isoformat()}#{release.id}"


class _ByTime(GlobalSecondaryIndex["ReleaseItem"]):
    class Meta:
        index_name = RELEASES_BY_TIME
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    listed_at = UnicodeAttribute(range_key=True)


class _ByProduct(GlobalSecondaryIndex["ReleaseItem"]):
    class Meta:
        index_name = RELEASES_BY_PRODUCT
        projection = AllProjection()

    product = UnicodeAttribute(hash_key=True)
    listed_at = UnicodeAttribute(range_key=True)


# The item kinds, declared once with their attributes. None is bound to a table: _models subclasses them per
# table name, and only those subclasses are stored and read.
class Item(Model):
    class Meta:
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ReleaseItem(Item):
    product = UnicodeAttribute()
    flow = UnicodeAttribute()
    version = UnicodeAttribute()
    trigger_environment = UnicodeAttribute()
    source = JSONAttribute()
    config_revision = UnicodeAttribute()
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    promotion_context = JSONAttribute(default=dict)
    rollback_of = UnicodeAttribute(null=True)
    action = UnicodeAttribute(null=True)
    # The source's commit, apart from `source` (a JSON string) so that listings filter on its prefix. Null on
    # releases stored before: a search by commit does not find those.
    source_commit = UnicodeAttribute(null=True)
    # Null on releases stored before releases were listed: those are not listed.
    listing = UnicodeAttribute(null=True)
    listed_at = UnicodeAttribute(null=True)
    # Given per table: an index queries the model it was declared on.
    by_time: _ByTime
    by_product: _ByProduct


class EnvironmentItem(Item):
    name = UnicodeAttribute()
    position = NumberAttribute()
    depends_on = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute()
    commit = UnicodeAttribute(null=True)
    commit_message = UnicodeAttribute(null=True)
    committed_at = UTCDateTimeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    wait_token = UnicodeAttribute(null=True)
    wait_decision = UnicodeAttribute(null=True)
    pull_requests = JSONAttribute(null=True)
    # An EnvironmentFailure, once the environment failed or was terminated.
    failure = JSONAttribute(null=True)


class CheckItem(Item):
    """The latest evaluation of one check of one environment, replaced by the next one."""

    environment = UnicodeAttribute()
    name = UnicodeAttribute()
    # Not `kind`: every item's kind is its discriminator.
    check_kind = UnicodeAttribute()
    stage = UnicodeAttribute()
    position = NumberAttribute()
    outcome = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    first_evaluated_at = UTCDateTimeAttribute()
    last_evaluated_at = UTCDateTimeAttribute()
    attempts = NumberAttribute()
    logs_url = UnicodeAttribute(null=True)


class ConfigItem(Item):
    revision = UnicodeAttribute()
    recorded_at = UTCDateTimeAttribute()


class AuditItem(Item):
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    detail = UnicodeAttribute(default="")
    # Null on entries written before permissions were checked: those were allowed.
    outcome = UnicodeAttribute(null=True)
    permission = UnicodeAttribute(null=True)


def _models(
    table_name: str,
) -> tuple[
    type[Item], type[ReleaseItem], type[EnvironmentItem], type[ConfigItem], type[AuditItem], type[CheckItem]
]:
    """The item kinds bound to one table; the table name comes from the deployment, not from code.

    Built per store rather than cached per table name: pynamodb keeps a connection on the model class,
    and a store for another endpoint (another local stack) must not inherit it. Each table's item has its
    own discriminator, which maps a stored `kind` to that table's classes.
    """

    class TableItem(Item):
        class Meta:
            pass

        kind = DiscriminatorAttribute()

    TableItem.Meta.table_name = table_name  # type: ignore[attr-defined]  # pynamodb's Meta is a bare class

    class TableReleaseItem(TableItem, ReleaseItem, discriminator="release"):
        by_time = _ByTime()
        by_product = _ByProduct()

    class TableEnvironmentItem(TableItem, EnvironmentItem, discriminator="environment"):
        pass

    class TableConfigItem(TableItem, ConfigItem, discriminator="config"):
        pass

    class TableAuditItem(TableItem, AuditItem, discriminator="audit"):
        pass

    class TableCheckItem(TableItem, CheckItem, discriminator="check"):
        pass

    return (
        TableItem,
        TableReleaseItem,
        TableEnvironmentItem,
        TableConfigItem,
        TableAuditItem,
        TableCheckItem,
    )


_CONTEXT_MERGE_ATTEMPTS = 10


@dataclass(frozen=True)
class ReleasePage:
    releases: list[ReleaseSummary]
    # Hand back to list_releases for the next page; None on the last page.
    next_token: str | None


class ContextMergeConflict(RuntimeError, TransientError):
    """Parallel writers kept changing the promotion context under every attempt; a later merge succeeds."""


@dataclass(frozen=True)
class Waiter:
    token: str
    decision: str | None


@dataclass(frozen=True)
class CheckEvaluation:
    """One evaluation of one of an environment's checks, as record_check stores it."""

    name: str
    kind: str
    stage: CheckStage
    position: int
    outcome: CheckState
    reason: str | None
    # When the check was first evaluated in this run of its stage, and whether this is that evaluation.
    first_evaluated_at: datetime
    first: bool
    evaluated_at: datetime
    logs_url: str | None = None


class ReleaseStore:
    def __init__(self, table_name: str) -> None:
        self._item, self._release, self._environment, self._config, self._audit, self._check = _models(
            table_name
        )
        self._approvals = ApprovalStore(table_name)
        self._observers: list[StatusObserver] = []

    def observe(self, observer: StatusObserver) -> None:
        """Tell `observer` of every status change this store makes from now on, and of every release it creates."""
        self._observers.append(observer)

    def create(self, release: Release) -> bool:
        """Store a new release; False when a release with this id exists already (a repeated event)."""
        now = clock.now()
        with_condition = self._release(
            pk=_release_pk(release.id),
            sk=_RELEASE_SK,
            product=release.product,
            flow=release.flow,
            version=release.version,
            trigger_environment=release.trigger_environment,
            source=release.source.model_dump(),
            config_revision=release.config_revision,
            status=release.status.value,
            reason=release.reason,
            created_at=release.created_at,
            updated_at=now,
            promotion_context=release.promotion_context,
            rollback_of=release.rollback_of,
            action=release.action.value if release.action else None,
            source_commit=release.source.commit,
            listing=_LISTED,
            listed_at=_listed_at(release),
        )
        try:
            with TransactWrite(connection=self._connection()) as transaction:
                transaction.save(with_condition, condition=self._release.pk.does_not_exist())
                for position, run in enumerate(release.environments):
                    transaction.save(self._environment_item(release.id, position, run))
                for entry in release.audit:
                    transaction.save(self._audit_item(_release_pk(release.id), entry))
        except TransactWriteError as error:
            if _condition_failed(error):
                return False
            raise
        self._changed(ReleaseStatusChange(release.id, release.status, None, now))
        return True

    def get(self, release_id: str) -> Release:
        items = list(self._item.query(_release_pk(release_id), consistent_read=True))
        heads = [item for item in items if isinstance(item, self._release)]
        if not heads:
            raise ReleaseNotFound(f"no release {release_id!r}")
        head = heads[0]
        runs = sorted(
            (item for item in items if isinstance(item, self._environment)), key=lambda i: i.position
        )
        audit = sorted((item for item in items if isinstance(item, self._audit)), key=lambda i: i.sk)
        checks = sorted(
            (item for item in items if isinstance(item, self._check)),
            key=lambda i: (_STAGE_ORDER[CheckStage(i.stage)], i.position),
        )
        approvals = self._approvals.of_release(release_id)
        return Release(
            id=release_id,
            product=head.product,
            flow=head.flow,
            version=head.version,
            trigger_environment=head.trigger_environment,
            source=SourceRevision.model_validate(head.source),
            config_revision=head.config_revision,
            status=ReleaseStatus(head.status),
            reason=head.reason,
            created_at=head.created_at,
            promotion_context=head.promotion_context or {},
            rollback_of=head.rollback_of,
            action=PolicyAction(head.action) if head.action else None,
            environments=[
                EnvironmentRun(
                    name=run.name,
                    # pynamodb types a list `of=UnicodeAttribute` as list[UnicodeAttribute]; its items are str.
                    depends_on=tuple(run.depends_on or ()),  # type: ignore[arg-type]
                    status=EnvironmentStatus(run.status),
                    commit=run.commit,
                    commit_message=run.commit_message,
                    committed_at=run.committed_at,
                    reason=run.reason,
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    pull_requests=tuple(
                        PullRequestRecord.model_validate(pull) for pull in run.pull_requests or ()
                    ),
                    checks=tuple(_check_record(item) for item in checks if item.environment == run.name),
                    approvals=tuple(
                        record
                        for approval in approvals
                        if approval.environment == run.name
                        for record in _approval_records(approval)
                    ),
                    failure=EnvironmentFailure.model_validate(run.failure) if run.failure else None,
                )
                for run in runs
            ],
            audit=tuple(_audit_entry(entry) for entry in audit),
        )

    def record_audit(self, release_id: str, entry: AuditEntry) -> None:
        """Add what someone did to the release to its audit trail."""
        self._audit_item(_release_pk(release_id), entry).save(condition=self._audit.pk.does_not_exist())

    def record_decision(self, product: str, entry: AuditEntry) -> None:
        """Add a refused call that would have made a release of `product` to the product's decision trail (there
        is no release to keep it on)."""
        self._audit_item(_decisions_pk(product), entry).save(condition=self._audit.pk.does_not_exist())

    def decisions(self, product: str, *, limit: int) -> list[AuditEntry]:
        """The product's decision trail, newest first."""
        items = self._audit.query(_decisions_pk(product), scan_index_forward=False, limit=limit)
        return [_audit_entry(item) for item in items]

    def list_releases(
        self,
        *,
        product: str | None = None,
        status: ReleaseStatus | None = None,
        flow: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        search: str | None = None,
        limit: int = 20,
        next_token: str | None = None,
    ) -> ReleasePage:
        """Releases newest first, of one product or of all; `next_token` continues where a page ended.

        `since` (included) and `until` (left out) bound their creation time, in the index's sort key. `status`,
        `flow` and `search` (a prefix of the version or of the source commit) filter the `limit` releases a page
        reads, so a filtered page may hold fewer, none even, and still have a next one: a page is one read."""
        created = _creation_range(since, until)
        if created[0] and created[1] and created[0] >= created[1]:
            return ReleasePage([], None)
        index = self._release.by_product if product is not None else self._release.by_time
        pages = index.query(
            product if product is not None else _LISTED,
            range_key_condition=self._created_within(*created),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=_decode_page_token(next_token, product, created),
            filter_condition=self._release_filter(status, flow, search),
        ).page_iter
        found = map(self._release.from_raw_data, next(pages).get("Items", []))
        releases = [
            ReleaseSummary(
                id=item.pk.removeprefix("RELEASE#"),
                product=item.product,
                flow=item.flow,
                version=item.version,
                trigger_environment=item.trigger_environment,
                status=ReleaseStatus(item.status),
                reason=item.reason,
                created_at=item.created_at,
            )
            for item in found
        ]
        last_key = pages.last_evaluated_key
        return ReleasePage(releases, _encode_page_token(last_key, product, created) if last_key else None)

    def _created_within(self, since: str | None, until: str | None) -> Condition | None:
        listed_at = self._release.listed_at
        if since and until:
            # Between includes `until`, which no release's sort key equals: each ends with `#` and its id.
            return listed_at.between(since, until)
        if since:
            return listed_at >= since
        if until:
            return listed_at < until
        return None

    def _release_filter(
        self, status: ReleaseStatus | None, flow: str | None, search: str | None
    ) -> Condition | None:
        release = self._release
        conditions = []
        if status is not None:
            conditions.append(release.status == status.value)
        if flow is not None:
            conditions.append(release.flow == flow)
        if search is not None:
            conditions.append(
                release.version.startswith(search) | release.source_commit.startswith(search.lower())
            )
        return functools.reduce(operator.and_, conditions) if conditions else None

    def waiting_environments(self, release_id: str) -> dict[str, Waiter]:
        """Environments whose Map iteration is parked on a task token, with the decision taken, if any."""
        return {
            item.name: Waiter(token=item.wait_token, decision=item.wait_decision)
            for item in self._environment.query(
                _release_pk(release_id), self._environment.sk.startswith("ENV#"), consistent_read=True
            )
            if item.wait_token
        }

    def set_release_status(
        self,
        release_id: str,
        status: ReleaseStatus,
        *,
        reason: str | None = None,
        clear_reason: bool = False,
        unless: Iterable[ReleaseStatus] = (),
    ) -> bool:
        """Move the release to a status; False when it is in one of `unless` (a final status wins)."""
        actions = [self._release.status.set(status.value), self._release.updated_at.set(clock.now())]
        if reason is not None:
            actions.append(self._release.reason.set(reason))
        elif clear_reason:
            actions.append(self._release.reason.remove())
        condition = self._release.pk.exists()
        for blocked in unless:
            condition &= self._release.status != blocked.value
        previous = self._update_status(
            self._release(pk=_release_pk(release_id), sk=_RELEASE_SK), actions, condition
        )
        if previous is None:
            return False
        self._changed(ReleaseStatusChange(release_id, status, ReleaseStatus(previous), clock.now()))
        return True

    def set_environment_status(
        self,
        release_id: str,
        environment: str,
        status: EnvironmentStatus,
        *,
        reason: str | None = None,
        failure: EnvironmentFailure | None = None,
        only_from: Iterable[EnvironmentStatus] | None = None,
    ) -> bool:
        """Move one environment to a status; False when it is not in one of `only_from`."""
        env = self._environment
        actions = [env.status.set(status.value)]
        if reason is not None:
            actions.append(env.reason.set(reason))
        if failure is not None:
            actions.append(env.failure.set(failure.model_dump(mode="json")))
        if status is EnvironmentStatus.PENDING:
            # Pending again (a retried release): nothing of the earlier attempt's outcome applies.
            actions += [
                env.reason.remove(),
                env.failure.remove(),
                env.started_at.remove(),
                env.finished_at.remove(),
            ]
        if status is EnvironmentStatus.RUNNING:
            actions.append(env.started_at.set(clock.now()))
        if status.is_final:
            actions.append(env.finished_at.set(clock.now()))
        condition = env.pk.exists()
        if only_from is not None:
            condition &= env.status.is_in(*(s.value for s in only_from))
        previous = self._update_status(self._environment_ref(release_id, environment), actions, condition)
        if previous is None:
            return False
        self._changed(
            EnvironmentStatusChange(release_id, environment, status, EnvironmentStatus(previous), clock.now())
        )
        return True

    def record_commit(
        self, release_id: str, environment: str, commit: str, message: str | None = None
    ) -> None:
        env = self._environment
        self._update(
            self._environment_ref(release_id, environment),
            [
                env.commit.set(commit),
                env.commit_message.set(message or ""),
                env.committed_at.set(clock.now()),
            ],
            env.pk.exists(),
        )

    def record_pull_requests(
        self,
        release_id: str,
        environment: str,
        pull_requests: Iterable[PullRequestRecord],
        message: str | None,
    ) -> None:
        """Park the environment on the pull requests its promotion opened: it has no commit until they are
        merged (record_commit then), and `message` is the promotion commit's message they carry."""
        env = self._environment
        actions = [
            env.pull_requests.set([pull.model_dump(mode="json") for pull in pull_requests]),
            env.commit_message.set(message or ""),
            env.commit.remove(),
            env.committed_at.remove(),
        ]
        self._update(self._environment_ref(release_id, environment), actions, env.pk.exists())

    def record_check(self, release_id: str, environment: str, evaluation: CheckEvaluation) -> None:
        """Replace the environment's record of the check with this evaluation: one small item per check however
        often it is evaluated, its attempts counted anew from its first evaluation."""
        check = self._check
        pk, sk = _release_pk(release_id), _check_sk(environment, evaluation.stage, evaluation.name)
        if not evaluation.first:
            again = [
                check.outcome.set(evaluation.outcome.value),
                check.reason.set(evaluation.reason) if evaluation.reason else check.reason.remove(),
                check.last_evaluated_at.set(evaluation.evaluated_at),
                check.attempts.add(1),
                check.logs_url.set(evaluation.logs_url) if evaluation.logs_url else check.logs_url.remove(),
            ]
            if self._update(check(pk=pk, sk=sk), again, check.pk.exists()):
                return
        # A first evaluation (or one whose record is missing) writes the whole item, with its kind.
        check(
            pk=pk,
            sk=sk,
            environment=environment,
            name=evaluation.name,
            check_kind=evaluation.kind,
            stage=evaluation.stage.value,
            position=evaluation.position,
            outcome=evaluation.outcome.value,
            reason=evaluation.reason,
            first_evaluated_at=evaluation.first_evaluated_at,
            last_evaluated_at=evaluation.evaluated_at,
            attempts=1,
            logs_url=evaluation.logs_url,
        ).save()

    def forget_checks(self, release_id: str, environment: str) -> None:
        """Drop the environment's check records: a retried environment shows only what its new run evaluates."""
        for item in self._check.query(
            _release_pk(release_id), self._check.sk.startswith(f"CHECK#{environment}#"), consistent_read=True
        ):
            item.delete()

    def merge_promotion_context(self, release_id: str, update: Mapping[str, Any]) -> dict[str, Any]:
        """Merge keys into the release's PROMOTION_CONTEXT (a later value wins); parallel environments may
        merge at once, so the write only lands on the version it read, and is retried otherwise."""
        if not update:
            return self.get(release_id).promotion_context
        for _ in range(_CONTEXT_MERGE_ATTEMPTS):
            head = self._release.get(_release_pk(release_id), _RELEASE_SK, consistent_read=True)
            current = head.promotion_context or {}
            merged = {**current, **update}
            if merged == current:
                return current
            unchanged = (
                self._release.promotion_context == current
                if head.promotion_context is not None
                else self._release.promotion_context.does_not_exist()
            )
            if self._update(head, [self._release.promotion_context.set(merged)], unchanged):
                return merged
        raise ContextMergeConflict(f"release {release_id}: promotion context kept changing; merge again")

    def register_wait_token(self, release_id: str, environment: str, token: str) -> None:
        env = self._environment
        self._update(
            self._environment_ref(release_id, environment), [env.wait_token.set(token)], env.pk.exists()
        )

    def decide_wait(self, release_id: str, environment: str, token: str, decision: str) -> bool:
        """Record the answer for a parked token; only the first decision counts, so two parties never disagree."""
        env = self._environment
        return self._update(
            self._environment_ref(release_id, environment),
            [env.wait_decision.set(decision)],
            (env.wait_token == token) & env.wait_decision.does_not_exist(),
        )

    def forget_wait(self, release_id: str, environment: str, token: str) -> None:
        """Drop a token once its answer reached Step Functions."""
        env = self._environment
        self._update(
            self._environment_ref(release_id, environment),
            [env.wait_token.remove(), env.wait_decision.remove()],
            env.wait_token == token,
        )

    def remember_good_config(self, source: str, revision: str) -> None:
        self._config(pk=f"CONFIG#{source}", sk="LAST_GOOD", revision=revision, recorded_at=clock.now()).save()

    def last_good_config(self, source: str) -> str | None:
        try:
            return self._config.get(f"CONFIG#{source}", "LAST_GOOD", consistent_read=True).revision
        except self._config.DoesNotExist:
            return None

    def _environment_item(self, release_id: str, position: int, run: EnvironmentRun) -> EnvironmentItem:
        return self._environment(
            pk=_release_pk(release_id),
            sk=_environment_sk(run.name),
            name=run.name,
            position=position,
            depends_on=list(run.depends_on),
            status=run.status.value,
            commit=run.commit,
            commit_message=run.commit_message,
            committed_at=run.committed_at,
            reason=run.reason,
            started_at=run.started_at,
            finished_at=run.finished_at,
            pull_requests=[pull.model_dump(mode="json") for pull in run.pull_requests] or None,
        )

    def _audit_item(self, pk: str, entry: AuditEntry) -> AuditItem:
        # Sorted by time; the suffix keeps two entries of one instant apart.
        return self._audit(
            pk=pk,
            sk=f"AUDIT#{entry.at.isoformat()}#{uuid.uuid4().hex[:8]}",
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            detail=entry.detail,
            outcome=entry.outcome,
            permission=entry.permission or None,
        )

    def _environment_ref(self, release_id: str, environment: str) -> EnvironmentItem:
        return self._environment(pk=_release_pk(release_id), sk=_environment_sk(environment))

    def _connection(self) -> Connection:
        return self._item._get_connection().connection

    def _changed(self, change: StatusChange) -> None:
        if change.status != change.previous:
            for observer in self._observers:
                observer.status_changed(change)

    @staticmethod
    def _update_status(item: Item, actions: list, condition) -> str | None:
        """Update a release's or environment's item as _update does, and return the status it held before the
        write (None when `condition` failed): whether the status changed is known from the write itself."""
        connection = type(item)._get_connection()
        try:
            answer = connection.update_item(
                item.pk, item.sk, actions=actions, condition=condition, return_values=ALL_OLD
            )
        except UpdateError as error:
            if _condition_failed(error):
                return None
            raise
        return answer[ATTRIBUTES]["status"]["S"]

    @staticmethod
    def _update(item: Model, actions: list, condition) -> bool:
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if _condition_failed(error):
                return False
            raise
        return True


def _check_record(item: CheckItem) -> CheckRecord:
    return CheckRecord(
        name=item.name,
        kind=item.check_kind,
        stage=CheckStage(item.stage),
        position=int(item.position),
        outcome=CheckState(item.outcome),
        reason=item.reason,
        first_evaluated_at=item.first_evaluated_at,
        last_evaluated_at=item.last_evaluated_at,
        attempts=int(item.attempts),
        logs_url=item.logs_url,
    )


def _approval_records(approval: StoredApproval) -> list[ApprovalRecord]:
    """Each approver of a granted (or still open) approval; whoever rejected it; or how it ended unanswered."""
    if approval.decision in (None, "approved"):
        return [
            ApprovalRecord(approver=str(Approver(user, name)), decision="approved", at=approval.decided_at)
            for user, name in approval.approvers.items()
        ]
    decided_by = approval.decided_by
    if decided_by is not None:
        decided_by = str(Approver(decided_by, approval.approvers.get(decided_by, decided_by)))
    return [
        ApprovalRecord(
            approver=decided_by,
            decision=approval.decision,
            at=approval.decided_at,
            reason=approval.reason,
        )
    ]


def _audit_entry(item: AuditItem) -> AuditEntry:
    return AuditEntry(
        at=item.at,
        actor=item.actor,
        action=item.action,
        detail=item.detail,
        outcome="refused" if item.outcome == "refused" else "allowed",
        permission=item.permission or "",
    )


def _creation_range(since: datetime | None, until: datetime | None) -> tuple[str | None, str | None]:
    """The bounds as sort keys: release times are stored in UTC, and an ISO time without an offset is UTC."""

    def key(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return (moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()

    return key(since), key(until)


def _encode_page_token(
    last_key: Mapping[str, Any], product: str | None, created: tuple[str | None, str | None]
) -> str:
    listing: dict[str, Any] = {"product": product, "key": last_key}
    if any(created):
        # DynamoDB refuses a start key outside the query's range: the range goes with the page it started.
        listing["created"] = list(created)
    document = json.dumps(listing, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode()


def _decode_page_token(
    token: str | None, product: str | None, created: tuple[str | None, str | None]
) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError) as error:
        raise UnknownPageToken(
            "not a page token this API handed out: pass the `next` of the previous page"
        ) from error
    key = document.get("key") if isinstance(document, dict) else None
    if isinstance(document, dict) and document.get("product") != product:
        raise UnknownPageToken("this page token continues another listing: pass the same product filter")
    if isinstance(document, dict) and document.get("created", [None, None]) != list(created):
        raise UnknownPageToken("this page token continues another listing: pass the same since and until")
    if not _is_release_index_key(key, product):
        raise UnknownPageToken("not a page token this API handed out: pass the `next` of the previous page")
    return key


def _is_release_index_key(key: Any, product: str | None) -> bool:
    """Whether `key` is what a query of the listing's index hands back after a release: DynamoDB refuses any
    other as a start key, and the caller would get a server error for a token it made up."""
    partition = {"product": product} if product is not None else {"listing": _LISTED}
    if not isinstance(key, dict) or set(key) != {"pk", "sk", "listed_at", *partition}:
        return False
    values: dict[str, str] = {}
    for name, value in key.items():
        text = value.get("S") if isinstance(value, dict) and set(value) == {"S"} else None
        if not isinstance(text, str) or not text:
            return False
        values[name] = text
    return (
        values["sk"] == _RELEASE_SK
        and values["pk"].startswith("RELEASE#")
        and all(values[name] == expected for name, expected in partition.items())
    )


def _condition_failed(error: PutError | UpdateError | TransactWriteError) -> bool:
    if error.cause_response_code == "ConditionalCheckFailedException":
        return True
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons)
