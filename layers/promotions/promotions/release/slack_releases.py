"""A product's releases told in its Slack channel (a PromotionNotifications document's `slack.channel`): one
message per release, posted at its first status change and updated in place at each later one.

Like commit statuses, the message is written from the release as stored when it is written, so changes handled
out of order still end on the latest. Where the message is lives beside the release, under a partition of its
own (a release read queries its own partition whole). The first writer claims the message before posting, so a
release is posted once; a writer that finds it claimed but not posted yet is told to come back
(MessageBeingPosted, transient), as is one that finds Slack away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from promotions.config.repository import ConfigRepository
from promotions.errors import TransientError
from promotions.release.model import Release
from promotions.slack.client import SlackRefused
from promotions.slack.messages import MessageRef
from promotions.slack.release_messages import EnvironmentLine, ReleaseMessage

if TYPE_CHECKING:
    from promotions.release.store import ReleaseStore

logger = Logger(child=True)


class Messenger(Protocol):
    def post(self, channel: str, message: ReleaseMessage) -> MessageRef: ...

    def update(self, where: MessageRef, message: ReleaseMessage) -> None: ...


class MessageBeingPosted(TransientError):
    """Another writer claimed the release's message and has not posted it yet."""


def _models(table_name: str) -> Any:
    class ReleaseMessageItem(Model):
        class Meta:
            pass

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        kind = UnicodeAttribute(default="slack-release-message")
        channel = UnicodeAttribute()
        # Null while the claiming writer posts it.
        ts = UnicodeAttribute(null=True)

    ReleaseMessageItem.Meta.table_name = table_name  # type: ignore[attr-defined]
    return ReleaseMessageItem


def _key(release_id: str) -> tuple[str, str]:
    return f"NOTIFICATIONS#{release_id}", "SLACK"


def release_message(release: Release, release_url: str | None) -> ReleaseMessage:
    return ReleaseMessage(
        product=release.product,
        version=release.version,
        flow=release.flow,
        status=release.status.value,
        environments=tuple(
            EnvironmentLine(run.name, run.status.value, run.reason if not run.status.is_done_well else None)
            for run in release.promoted_environments
        ),
        release_url=release_url,
    )


class SlackReleases:
    def __init__(
        self,
        table_name: str,
        store: ReleaseStore,
        configs: ConfigRepository,
        messenger: Callable[[], Messenger | None],
        release_url: Callable[[str], str | None],
    ) -> None:
        self._item = _models(table_name)
        self._store = store
        self._configs = configs
        # Made when a product has a channel: a deployment without Slack never reads its secret. None when the
        # deployment has no Slack app.
        self._messenger = messenger
        self._release_url = release_url

    def show(self, release_id: str) -> None:
        """Post or update the release's message in its product's channel; nothing for a product without one."""
        release = self._store.get(release_id)
        notifications = self._configs.at(release.config_revision).notifications_for(release.product)
        if notifications is None or notifications.spec.slack is None:
            return
        messenger = self._messenger()
        channel = notifications.spec.slack.channel
        where = {"release": release.id, "channel": channel}
        if messenger is None:
            logger.warning("the product has a Slack channel but the deployment no Slack app", extra=where)
            return
        message = release_message(release, self._release_url(release.id))
        pk, sk = _key(release.id)
        try:
            self._item(pk=pk, sk=sk, channel=channel).save(condition=self._item.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            item = self._item.get(pk, sk, consistent_read=True)
            if item.ts is None:
                raise MessageBeingPosted(
                    f"the Slack message of release {release.id} is being posted"
                ) from None
            try:
                messenger.update(MessageRef(channel=item.channel, ts=item.ts), message)
            except SlackRefused as refused:
                logger.warning("release message not updated", extra={**where, "error": str(refused)})
            return
        try:
            posted = messenger.post(channel, message)
        except Exception as error:
            # Unclaimed, so that the next writer posts it.
            self._item(pk=pk, sk=sk).delete()
            if not isinstance(error, SlackRefused):
                raise
            logger.warning("release message not posted", extra={**where, "error": str(error)})
            return
        self._item(pk=pk, sk=sk).update(
            actions=[self._item.channel.set(posted.channel), self._item.ts.set(posted.ts)]
        )
        logger.info("release posted to Slack", extra=where)
