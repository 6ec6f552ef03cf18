"""An Application's http(s) repoURL may not carry user information: credentials come from the credentials
secret, matched on the host the URL really names."""

from pathlib import Path

import pytest

APP = "apps/guestbook-api-dev.yaml"
SAMPLE_REPO_URL = "https://github.com/example/guestbook-deploy.git"


def with_repo_url(fixtures: Path, repo_url: str) -> dict[str, str]:
    text = (fixtures / "valid" / APP).read_text()
    assert SAMPLE_REPO_URL in text
    return {APP: text.replace(SAMPLE_REPO_URL, repo_url)}


@pytest.mark.parametrize(
    "repo_url",
    [
        "https://github.com@127.0.0.1:8080/example/guestbook-deploy.git",
        "https://bot:s3cret@github.com/example/guestbook-deploy.git",
    ],
)
def test_user_information_in_an_http_repo_url_is_a_problem_that_does_not_show_it(
    sample_problems, fixtures, repo_url
):
    [problem] = sample_problems(with_repo_url(fixtures, repo_url))

    assert problem.startswith(f"{APP}:") and "user information" in problem
    assert (
        "/example/guestbook-deploy.git" in problem
        and "s3cret" not in problem
        and "github.com@" not in problem
    )


def test_an_ssh_repo_url_keeps_its_user(load_sample, fixtures):
    configuration = load_sample(with_repo_url(fixtures, "git@github.com:example/guestbook-deploy.git"))

    assert (
        configuration.applications["guestbook-api-dev"].canonical_repo
        == "github.com/example/guestbook-deploy"
    )
