"""A release's Slack message (moto's DynamoDB for where it is): posted once, updated after, and never posted
twice by writers that race or by a Slack that refused it."""

from __future__ import annotations

import pytest

from promotions import clock
from promotions.config.models import PromotionNotifications
from promotions.release.model import EnvironmentRun, Release, SourceRevision, release_id_for
from promotions.release.slack_releases import MessageBeingPosted, SlackReleases
from promotions.release.status import EnvironmentStatus, ReleaseStatus
from promotions.slack.client import SlackRefused, SlackUnavailable
from promotions.slack.messages import MessageRef

CHANNEL = "#guestbook-releases"


class Configurations:
    def __init__(self, channel: str | None) -> None:
        self._channel = channel

    def at(self, revision: str) -> Configurations:
        return self

    def notifications_for(self, product: str) -> PromotionNotifications | None:
        if self._channel is None:
            return None
        document = {"metadata": {"name": product}, "spec": {"slack": {"channel": self._channel}}}
        return PromotionNotifications.model_validate(document)


class Channel:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.posted: list[tuple[str, str]] = []
        self.updated: list[tuple[MessageRef, str]] = []

    def post(self, channel, message) -> MessageRef:
        if self.failure is not None:
            raise self.failure
        self.posted.append((channel, message.fallback_text()))
        return MessageRef(channel="C123", ts="1.000001")

    def update(self, where, message) -> None:
        self.updated.append((where, message.fallback_text()))


@pytest.fixture
def release(store) -> Release:
    source = SourceRevision(repo_url="https://github.com/acme/gitops.git", branch="main", commit="a" * 40)
    release = Release(
        id=release_id_for("guestbook", "flow", source),
        product="guestbook",
        flow="flow",
        version="1.5.0",
        trigger_environment="dev",
        source=source,
        config_revision="c" * 40,
        created_at=clock.now(),
        environments=[
            EnvironmentRun(name="dev", status=EnvironmentStatus.SUCCESSFUL, commit="a" * 40),
            EnvironmentRun(name="qa", depends_on=("dev",)),
        ],
    )
    store.create(release)
    return release


def releases(store, channel: Channel | None, configured: str | None = CHANNEL) -> SlackReleases:
    return SlackReleases(
        "promotions-test", store, Configurations(configured), lambda: channel, lambda _: None
    )


def test_the_first_change_posts_and_the_later_ones_update_that_message(store, release):
    channel = Channel()
    releases(store, channel).show(release.id)
    store.set_release_status(release.id, ReleaseStatus.RUNNING)
    releases(store, channel).show(release.id)

    assert channel.posted == [(CHANNEL, "guestbook 1.5.0: Queued")]
    assert channel.updated == [(MessageRef(channel="C123", ts="1.000001"), "guestbook 1.5.0: Running")]


def test_a_product_without_a_channel_or_a_deployment_without_slack_posts_nothing(store, release):
    channel = Channel()
    releases(store, channel, configured=None).show(release.id)
    releases(store, None).show(release.id)

    assert channel.posted == channel.updated == []


def test_a_refused_post_is_given_up_and_an_unavailable_slack_is_asked_again(store, release):
    releases(store, Channel(SlackRefused("Slack chat.postMessage: channel_not_found"))).show(release.id)
    with pytest.raises(SlackUnavailable):
        releases(store, Channel(SlackUnavailable("Slack chat.postMessage: ratelimited"))).show(release.id)
    channel = Channel()
    releases(store, channel).show(release.id)

    assert channel.posted == [(CHANNEL, "guestbook 1.5.0: Queued")] and channel.updated == []


def test_a_writer_that_finds_the_message_claimed_but_not_posted_comes_back_later(store, release):
    class Racing(Channel):
        def post(self, channel, message) -> MessageRef:
            with pytest.raises(MessageBeingPosted):
                releases(store, Channel()).show(release.id)
            return super().post(channel, message)

    racing = Racing()
    releases(store, racing).show(release.id)

    assert racing.posted == [(CHANNEL, "guestbook 1.5.0: Queued")]
