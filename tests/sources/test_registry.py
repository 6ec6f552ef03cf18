from types import MappingProxyType

import pytest

from promotions.sources import (
    BusRule,
    EventError,
    EventSource,
    UnknownEventSource,
    bus_source,
    event_source,
    registry,
    webhook_source,
)

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
def test_each_provider_payload_is_parsed_by_its_registered_source(upstream_events, provider, fixture, after):
    body = (upstream_events / fixture).read_bytes()

    [push] = event_source(provider).parse(body, delivery_id="delivery")

    assert (push.provider, push.after, push.delivery_id) == (provider, after, "delivery")


def test_a_payload_sent_to_the_wrong_provider_is_an_event_error(upstream_events):
    with pytest.raises(EventError, match=r"^gitlab push: object_kind: field required"):
        event_source("gitlab").parse((upstream_events / "github-push.json").read_bytes(), delivery_id=None)


def test_an_unknown_source_is_named_with_the_ones_there_are():
    with pytest.raises(UnknownEventSource, match=r"'gitea'; expected one of github, gitlab, bitbucket$"):
        event_source("gitea")
    with pytest.raises(UnknownEventSource, match="'gitea'"):
        webhook_source("gitea")


def test_a_source_arriving_on_the_bus_is_found_by_its_eventbridge_source_and_takes_no_webhooks(monkeypatch):
    ecr = EventSource(
        name="ecr",
        arrival=BusRule(source="aws.ecr", detail_types=frozenset({"ECR Image Action"})),
        parse=lambda payload, *, delivery_id: [],
    )
    monkeypatch.setattr(registry, "SOURCES", MappingProxyType({**registry.SOURCES, ecr.name: ecr}))

    assert bus_source("aws.ecr") == (ecr, ecr.arrival)
    with pytest.raises(UnknownEventSource, match="'ecr' takes no webhooks"):
        webhook_source("ecr")
    with pytest.raises(UnknownEventSource, match="'aws.codebuild'"):
        bus_source("aws.codebuild")


@pytest.mark.parametrize("name", ["GitHub", "git hub", "", "1git", "a" * 41])
def test_a_source_name_that_could_not_be_a_url_path_or_detail_type_is_refused(name):
    with pytest.raises(ValueError, match="event source name"):
        EventSource(
            name=name, arrival=registry.SOURCES["github"].arrival, parse=registry.SOURCES["github"].parse
        )
