"""The PromotionNotifications kind: where a product's releases are told (a Slack channel), one per product."""

from __future__ import annotations

SLACK = """\
apiVersion: promotions.dev/v1alpha1
kind: PromotionNotifications
metadata:
  name: guestbook
spec:
  slack:
    channel: "#guestbook-releases"
"""


def test_a_product_is_told_in_the_channel_its_document_names(load_sample):
    assert load_sample().notifications_for("guestbook") is None
    notifications = load_sample({"notifications.yaml": SLACK}).notifications_for("guestbook")
    assert notifications is not None and notifications.spec.slack is not None
    assert notifications.spec.slack.channel == "#guestbook-releases"


def test_it_must_name_a_product_and_a_channel(sample_problems):
    problems = sample_problems(
        {
            "notifications.yaml": SLACK.replace("guestbook\n", "guestbok\n"),
            "other.yaml": SLACK.replace('"#guestbook-releases"', '""').replace("name: guestbook", "name: x"),
        }
    )
    assert problems == [
        (
            "notifications.yaml:4: PromotionNotifications guestbok: it is named after the product it tells of, and "
            "no Product guestbok is defined"
        ),
        "other.yaml:7: PromotionNotifications x: spec.slack.channel: String should have at least 1 character",
    ]
