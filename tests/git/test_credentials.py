"""Git credentials per URL prefix from Secrets Manager, used against a server that requires them."""

from __future__ import annotations

import json

import boto3
import pytest
import urllib3

from promotions.git import Author, GitAuthError, GitRemote, HttpCredentials
from promotions.git.credentials import CredentialsSecretError, GitCredentials
from promotions.repo_url import RepositoryUrlError
from promotions_local.git_server import GitHttpBackendServer, GuardedDulwichServer, create_bare_repository

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


def test_a_key_that_is_no_url_prefix_is_named(secrets):
    secrets.create_secret(
        Name="promotions-git-no-scheme",
        SecretString=json.dumps({"github.com/acme": {"token": "t"}, "https://github.com/": {"token": "t"}}),
    )
    with pytest.raises(CredentialsSecretError, match="key 'github.com/acme' is not an http"):
        GitCredentials("promotions-git-no-scheme").for_url("https://github.com/acme/x.git")


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


def test_a_prefix_matches_its_own_origin_and_whole_path_segments_only(secrets):
    secrets.create_secret(
        Name="promotions-git-origins",
        SecretString=json.dumps(
            {
                "http://git.example.com": {"token": "host-wide"},
                "https://github.com/acme": {"token": "acme-only"},
                "https://gitlab.example.com:8443/team/gitops": {"token": "one-repository"},
            }
        ),
    )
    credentials = GitCredentials("promotions-git-origins")
    host_wide, acme = (
        HttpCredentials("x-access-token", "host-wide"),
        HttpCredentials("x-access-token", "acme-only"),
    )

    assert credentials.for_url("http://git.example.com/team/app.git") == host_wide
    assert credentials.for_url("HTTP://Git.Example.COM:80/team/app.git") == host_wide
    assert credentials.for_url("https://github.com:443/acme/x.git") == acme
    assert credentials.for_url("https://github.com/acme/sub/group/x.git") == acme
    assert credentials.for_url("https://gitlab.example.com:8443/team/gitops.git") == HttpCredentials(
        "x-access-token", "one-repository"
    )
    for elsewhere in (
        "https://git.example.com/team/app.git",
        "http://git.example.com:8080/team/app.git",
        "http://git.example.com.evil.net/team/app.git",
        "http://evil.net/git.example.com/app.git",
        "https://github.com/acme-evil/x.git",
        "https://github.com/acme/../evil/x.git",
        "https://github.com/Acme/x.git",
        "https://gitlab.example.com:8443/team/gitops-evil.git",
    ):
        assert credentials.for_url(elsewhere) is None, elsewhere


def test_a_repository_url_with_user_information_is_refused_without_showing_it(secrets):
    secrets.create_secret(
        Name="promotions-git-userinfo",
        SecretString=json.dumps({"http://git.example.com": {"token": "bot-token"}}),
    )
    credentials = GitCredentials("promotions-git-userinfo")

    for url in ("http://git.example.com@127.0.0.1:8080/x.git", "https://bot:s3cret@git.example.com/x.git"):
        with pytest.raises(RepositoryUrlError) as raised:
            credentials.for_url(url)
        message = str(raised.value)
        assert "user information" in message and "/x.git" in message
        assert "s3cret" not in message and "bot:" not in message and "git.example.com@" not in message


def forwarded_to(backend_url: str):
    """A responder that answers as the Git server at `backend_url` does: a recording proxy in front of it."""
    pool = urllib3.PoolManager()

    def forward(request):
        headers = {name: value for name, value in request.headers.items() if name.lower() in GIT_HEADERS}
        response = pool.request(
            request.method,
            backend_url + request.path,
            body=request.body or None,
            headers=headers,
            redirect=False,
        )
        return response.status, response.data, {"Content-Type": response.headers.get("Content-Type", "")}

    return forward


GIT_HEADERS = {"content-type", "accept", "git-protocol"}


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_credentials_do_not_follow_a_redirect_to_another_origin(tmp_path, api, other_api, status):
    """The configured server redirects every request to another origin, which serves the repository: the
    snapshot is read there, and no request there carries the credentials."""
    create_bare_repository(tmp_path / "gitops.git", {"README.md": b"# gitops\n"})
    with GuardedDulwichServer(tmp_path) as backend:
        for method, path in (("GET", "/gitops.git/info/refs"), ("POST", "/gitops.git/git-upload-pack")):
            api.respond(
                method, path, lambda request: (status, b"", {"Location": other_api.url + request.path})
            )
            other_api.respond(method, path, forwarded_to(backend.base_url))

        snapshot = GitRemote(f"{api.url}/gitops.git", HttpCredentials("bot", "bot-token")).snapshot("main")

    assert snapshot.read("README.md") == b"# gitops\n"
    assert api.requests and all(authorization(request) for request in api.requests)
    assert other_api.requests and not any(authorization(request) for request in other_api.requests)


def test_a_refusal_after_a_redirect_to_another_origin_says_the_credentials_stayed_behind(api, other_api):
    for method, path in (("GET", "/gitops.git/info/refs"), ("POST", "/gitops.git/git-upload-pack")):
        api.respond(method, path, lambda request: (307, b"", {"Location": other_api.url + request.path}))
        other_api.route(method, path, status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})

    with pytest.raises(GitAuthError) as raised:
        GitRemote(f"{api.url}/gitops.git", HttpCredentials("bot", "bot-token")).snapshot("main")

    message = str(raised.value)
    assert f"redirected to {other_api.url}/gitops.git/" in message and "not sent" in message
    assert "credentials refused" not in message and "bot-token" not in message


def authorization(request) -> str | None:
    return next((value for name, value in request.headers.items() if name.lower() == "authorization"), None)
