"""The webhook secret's value: one string for every provider, or a JSON object with one per provider."""

import pytest

from promotions.sources.webhook import WebhookNotConfigured, WebhookSecrets


@pytest.mark.parametrize("value", ["It's a Secret to Everybody", '"quoted"', "12345", "[1, 2]", "{not json"])
def test_a_secret_that_is_not_a_json_object_is_every_providers_secret_as_it_is(value):
    secrets = WebhookSecrets.parse(value)
    assert [secrets.for_source(source, source) for source in ("github", "gitlab", "bitbucket")] == [value] * 3


def test_a_json_object_gives_each_provider_its_own_entry():
    secrets = WebhookSecrets.parse('{"github": "g", "gitlab": "l"}')

    assert (secrets.for_source("github", "github"), secrets.for_source("gitlab", "gitlab")) == ("g", "l")
    with pytest.raises(WebhookNotConfigured, match='without a "bitbucket" entry'):
        secrets.for_source("bitbucket", "bitbucket")


@pytest.mark.parametrize("value", ["", '{"gitlab": ""}', '{"gitlab": 7}', '{"gitlab": null}'])
def test_an_empty_or_unusable_secret_is_a_configuration_error_not_a_key(value):
    """An empty key would let anyone sign."""
    with pytest.raises(WebhookNotConfigured, match="gitlab"):
        WebhookSecrets.parse(value).for_source("gitlab", "gitlab")


def test_a_source_reads_the_entry_its_route_names_and_is_named_when_it_is_missing():
    secrets = WebhookSecrets.parse('{"gitlab": "l", "gitlab-eu": "e"}')

    assert secrets.for_source("gitlab", "gitlab-eu") == "e"
    with pytest.raises(
        WebhookNotConfigured, match=r'^cannot verify gitlab webhooks: .* without a "gitlab-us" entry'
    ):
        secrets.for_source("gitlab", "gitlab-us")
