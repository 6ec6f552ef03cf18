import pytest

from promotions.sources import EventError, parse_push, parse_pushes

FIXTURES = [
    ("github", "github-push.json", "fd489864e7642b48eaad6e3f155c10e46810ec72"),
    ("github", "github-push-merge-to-master.json", "a21683865c088b5fe1906cf6552d15a285a4986d"),
    ("github", "github-push-tag-created.json", "d2b75aa7797ec26b088fa2dd527e9d2c052fcedd"),
    ("github", "github-push-tag-deleted.json", "0000000000000000000000000000000000000000"),
    ("gitlab", "gitlab-push.json", "2adc9465c4edfc33834e173fe89436a7cb899a1d"),
    ("gitlab", "gitlab-push-docs-example.json", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"),
    ("gitlab", "gitlab-tag-push-docs-example.json", "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"),
    ("bitbucket", "bitbucket-cloud-repo-push.json", "141977fedf5cf35aa290ac87d4b5177ac4cd9de1"),
]


@pytest.mark.parametrize(("provider", "fixture", "after"), FIXTURES)
def test_each_provider_payload_is_dispatched_to_its_parser(upstream_events, provider, fixture, after):
    body = (upstream_events / fixture).read_bytes()

    push = parse_push(provider, body, delivery_id="delivery")

    assert (push.provider, push.after, push.delivery_id) == (provider, after, "delivery")
    assert parse_pushes(provider, body, delivery_id="delivery") == [push]


def test_a_payload_sent_to_the_wrong_provider_is_an_event_error(upstream_events):
    with pytest.raises(EventError, match=r"^gitlab push: object_kind: field required"):
        parse_push("gitlab", (upstream_events / "github-push.json").read_bytes())


def test_an_unknown_provider_is_a_value_error():
    with pytest.raises(ValueError, match="unknown Git provider 'gitea'"):
        parse_push("gitea", b"{}")
    with pytest.raises(ValueError, match="unknown Git provider 'gitea'"):
        parse_pushes("gitea", b"{}")
