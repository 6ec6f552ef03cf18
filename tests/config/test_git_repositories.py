"""GitRepository: which pull request API serves a repository, chosen by the narrowest URL prefix."""

from promotions.config import GitProvider

GITHUB_ENTERPRISE = """\
    apiVersion: promotions.dev/v1alpha1
    kind: GitRepository
    metadata:
      name: github-enterprise
    spec:
      url: https://GitHub.Example.com/
      provider: github
      apiUrl: https://github.example.com/api/v3
    ---
    apiVersion: promotions.dev/v1alpha1
    kind: GitRepository
    metadata:
      name: platform-group
    spec:
      url: https://github.example.com/platform
      provider: gitlab
    ---
    apiVersion: promotions.dev/v1alpha1
    kind: GitRepository
    metadata:
      name: platform-gitops
    spec:
      url: https://github.example.com/platform/gitops.git
      provider: bitbucket
      apiUrl: https://bitbucket.example.com/2.0
    """


def test_the_narrowest_prefix_covering_a_repository_wins_whatever_its_spelling(load_sample):
    configuration = load_sample({"git-repositories.yaml": GITHUB_ENTERPRISE})

    def chosen(url: str) -> str | None:
        found = configuration.git_repository_for(url)
        return found.name if found else None

    assert chosen("https://github.example.com/platform/gitops") == "platform-gitops"
    assert chosen("git@github.example.com:platform/gitops.git") == "platform-gitops"
    assert chosen("https://github.example.com/platform/billing.git") == "platform-group"
    # a prefix covers whole path segments only
    assert chosen("https://github.example.com/platform-tools/app.git") == "github-enterprise"
    assert chosen("https://github.com/platform/gitops.git") is None
    enterprise = configuration.git_repositories["github-enterprise"]
    assert enterprise.spec.provider is GitProvider.GITHUB
    assert str(enterprise.spec.api_url) == "https://github.example.com/api/v3"
    assert configuration.git_repositories["platform-group"].spec.api_url is None


def test_a_configuration_without_git_repositories_covers_nothing(load_sample):
    assert load_sample().git_repository_for("https://github.com/acme/gitops.git") is None


def test_problems_point_at_the_field(sample_problems):
    problems = sample_problems(
        {
            "git-repositories.yaml": """\
                apiVersion: promotions.dev/v1alpha1
                kind: GitRepository
                metadata:
                  name: broken
                spec:
                  url: /srv/git/gitops.git
                  provider: gitea
                  apiURL: https://gitea.example.com/api/v1
                ---
                apiVersion: promotions.dev/v1alpha1
                kind: GitRepository
                metadata:
                  name: no-url
                spec:
                  apiUrl: not a url
                """
        }
    )

    assert problems == [
        (
            "git-repositories.yaml:6: GitRepository broken: spec.url: '/srv/git/gitops.git' is not an "
            "https://HOST[/PATH] URL"
        ),
        (
            "git-repositories.yaml:7: GitRepository broken: spec.provider: "
            "Input should be 'github', 'gitlab' or 'bitbucket'"
        ),
        "git-repositories.yaml:8: GitRepository broken: spec.apiURL is not a known field (did you mean apiUrl?)",
        "git-repositories.yaml:14: GitRepository no-url: spec.url is required",
        (
            "git-repositories.yaml:15: GitRepository no-url: spec.apiUrl: Input should be a valid URL, "
            "relative URL without a base"
        ),
    ]


def test_two_repositories_for_the_same_prefix_are_reported_with_the_first(sample_problems):
    def repository(name: str, url: str) -> str:
        return f"""\
            apiVersion: promotions.dev/v1alpha1
            kind: GitRepository
            metadata:
              name: {name}
            spec:
              url: {url}
              provider: github
            """

    problems = sample_problems(
        {
            "a.yaml": repository("first", "https://github.example.com/acme"),
            "b.yaml": repository("second", "https://github.example.com/acme/"),
        }
    )

    assert problems == [
        (
            "b.yaml:6: GitRepository second: url https://github.example.com/acme/ names the same "
            "repositories as GitRepository first (a.yaml:6)"
        )
    ]
