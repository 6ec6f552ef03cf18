"""A product's releases in its Slack channel (a PromotionNotifications document), through the local stack and the
Slack stand-in: one message per release, updated in place, ending on each environment's status."""

from __future__ import annotations

import json

import pytest

from promotions.release.status import ReleaseStatus
from promotions_local.git_server import GitHttpBackendServer
from promotions_local.session import LocalPromotions
from promotions_local.slack_server import SlackStandIn

pytestmark = pytest.mark.slow

CHANNEL = "#guestbook-releases"
RELEASE_LINK = "https://promotions.example/releases/"


def test_a_release_is_one_message_in_its_products_channel_updated_as_it_moves(gitops_world, push_version):
    with GitHttpBackendServer(gitops_world.repos) as server, SlackStandIn() as slack:
        url = server.url_for("gitops.git")
        config_dir = gitops_world.write_config(url)
        notifications = {
            "apiVersion": "promotions.dev/v1alpha1",
            "kind": "PromotionNotifications",
            "metadata": {"name": "guestbook"},
            "spec": {"slack": {"channel": CHANNEL}},
        }
        (config_dir / "notifications.yaml").write_text(json.dumps(notifications) + "\n")
        parameters = {"ReleaseLinkPrefix": RELEASE_LINK}
        with LocalPromotions(config_dir, parameters=parameters, slack=slack) as local:
            local.submit_github_push(push_version(url, "5.0.0"))
            local.process_events()
            [release] = local.wait_until_settled(timeout=180)
            # The status changes the release made, delivered to the notifications function.
            local.process_events()
        messages = list(slack.messages)
        posted = [method for method, _ in slack.calls if method == "chat.postMessage"]

    assert release.status is ReleaseStatus.SUCCEEDED, release.reason
    [message] = messages
    assert posted == ["chat.postMessage"]
    assert message.channel == CHANNEL
    # posted at the first status change, updated at each later one: the release Queued, Running, Succeeded;
    # three environments, each Running then Successful
    assert len(message.versions) == 3 + 3 * 2
    assert message.versions[-1]["text"] == "guestbook 5.0.0: Succeeded"
    lines = message.text.splitlines()
    assert f"<{RELEASE_LINK}{release.id}|guestbook 5.0.0>" in message.text
    for environment in ("qa", "staging", "prod"):
        assert any(line.endswith(f" {environment}: Successful") for line in lines), message.text
