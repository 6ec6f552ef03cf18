"""Git credentials per URL prefix from Secrets Manager, used against a server that requires them."""

from __future__ import annotations

import json

import boto3
import pytest

from promotions.git import Author, GitAuthError, GitRemote, HttpCredentials
from promotions.git_credentials import CredentialsSecretError, GitCredentials
from promotions_local.git_server import GitHttpBackendServer, create_bare_repository

AUTHOR = Author("Promotions", "promotions@example.invalid")


@pytest.fixture
def secrets(aws):
    """Secrets Manager on moto. Powertools caches secrets by name for the process: each test uses its own."""
    return boto3.client("secretsmanager")


def test_the_longest_matching_prefix_wins_and_hosts_ignore_case(secrets):
    secrets.create_secret(
        Name="promotions-git",
        SecretString=json.dumps(
            {
                "https://github.com/": {"token": "host-wide"},
                "https://GitHub.com/acme/": {"username": "bot", "password": "acme-only"},
                "https://gitlab.example.com/": {"username": "oauth2", "token": "glpat"},
            }
        ),
    )
    credentials = GitCredentials("promotions-git")
    assert credentials.for_url("https://github.com/acme/gitops.git") == HttpCredentials("bot", "acme-only")
    assert credentials.for_url("https://GITHUB.com/other/gitops.git") == HttpCredentials(
        "x-access-token", "host-wide"
    )
    assert credentials.for_url("https://gitlab.example.com/team/gitops.git") == HttpCredentials(
        "oauth2", "glpat"
    )
    assert credentials.for_url("https://bitbucket.org/acme/gitops.git") is None
    assert credentials.for_url("/srv/git/gitops.git") is None
    assert GitCredentials(None).for_url("https://github.com/acme/gitops.git") is None


def test_a_malformed_entry_names_the_prefix_and_never_the_secret_values(secrets):
    secrets.create_secret(
        Name="promotions-git-malformed",
        SecretString=json.dumps({"https://github.com/": {"user": "s3cret-value"}}),
    )
    with pytest.raises(CredentialsSecretError) as raised:
        GitCredentials("promotions-git-malformed").for_url("https://github.com/acme/x.git")
    assert "https://github.com/" in str(raised.value) and "s3cret-value" not in str(raised.value)


def test_a_protected_server_accepts_the_matching_credentials_only(tmp_path, secrets):
    create_bare_repository(tmp_path / "gitops.git", {"apps/api/prod/values.yaml": b"tag: 1\n"})
    with GitHttpBackendServer(tmp_path, credentials=HttpCredentials("bot", "right-token")) as server:
        url = server.url_for("gitops.git")
        secrets.create_secret(
            Name="promotions-git-local",
            SecretString=json.dumps({server.base_url + "/": {"username": "bot", "token": "right-token"}}),
        )
        remote = GitRemote(url, credentials=GitCredentials("promotions-git-local").for_url(url))
        outcome = remote.commit(
            "main", lambda tip: {"apps/api/prod/values.yaml": b"tag: 2\n"}, "Promote", AUTHOR
        )
        assert outcome.commit_sha is not None
        with pytest.raises(GitAuthError) as raised:
            GitRemote(url, credentials=HttpCredentials("bot", "wrong-token")).snapshot("main")
        assert "wrong-token" not in str(raised.value)


def test_the_credentials_may_be_an_ssm_securestring_parameter_given_by_its_arn(aws):
    ssm = boto3.client("ssm")
    ssm.put_parameter(
        Name="/promotions/git-credentials",
        Type="SecureString",
        Value=json.dumps({"https://github.com/acme/": {"token": "from-parameter-store"}}),
    )
    arn = ssm.get_parameter(Name="/promotions/git-credentials")["Parameter"]["ARN"]

    credentials = GitCredentials(arn)

    assert credentials.for_url("https://github.com/acme/gitops.git") == HttpCredentials(
        "x-access-token", "from-parameter-store"
    )
    assert credentials.for_url("https://github.com/other/gitops.git") is None
