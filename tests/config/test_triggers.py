"""Which product flows a push starts (the sample: guestbook's `hotfix` flow, then `standard`, both from dev)."""

from pathlib import Path

import pytest
from promotions.config import GitTriggerSelector, load_configuration_dir
from promotions.push import ZERO_SHA, GitPush

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
DEPLOY_REPO = "https://github.com/example/guestbook-deploy.git"
FIXTURES = Path(__file__).parent / "fixtures"


def push(**overrides) -> GitPush:
    fields = {
        "provider": "github",
        "repo_url": DEPLOY_REPO,
        "ref": "refs/heads/main",
        "before": "89e6c98d92887913cadf06b2adb97f26cde4849b",
        "after": SHA,
        "changed_paths": frozenset({"envs/dev/api/values.yaml"}),
        "commit_message": "Bump api image to 1.4.2",
        "default_branch": "main",
    } | overrides
    return GitPush(**fields)


@pytest.fixture(scope="module")
def sample():
    return load_configuration_dir(FIXTURES / "valid")


@pytest.fixture(scope="module")
def docs_example():
    """Codefresh's helm-guestbook: apps track HEAD; flows `to-prod` (message *deploy*), then `demo` (gitRevision
    hotfix)."""
    return load_configuration_dir(FIXTURES / "codefresh-docs")


def summary(triggers) -> list[tuple[str, str, str, str]]:
    return [(t.product, t.flow, t.trigger_environment, t.application.name) for t in triggers]


def test_a_push_to_the_trigger_environment_starts_the_first_flow_whose_selectors_match(sample):
    assert summary(sample.triggered_flows(push())) == [("guestbook", "standard", "dev", "guestbook-api-dev")]


def test_an_earlier_flow_wins_when_its_selectors_match(sample):
    triggers = sample.triggered_flows(push(commit_message="hotfix: escape user input\n\nCVE-2024-0001"))

    assert summary(triggers) == [("guestbook", "hotfix", "dev", "guestbook-api-dev")]


@pytest.mark.parametrize(
    "repo_url",
    [
        "https://github.com/example/guestbook-deploy",
        "https://GitHub.com/example/guestbook-deploy.git/",
        "git@github.com:example/guestbook-deploy.git",
        "ssh://git@github.com/example/guestbook-deploy",
    ],
)
def test_any_spelling_of_the_repository_matches(sample, repo_url):
    assert summary(sample.triggered_flows(push(repo_url=repo_url)))[0][1] == "standard"


@pytest.mark.parametrize(
    "repo_url", ["https://github.com/example/guestbook", "https://gitlab.com/example/guestbook-deploy.git"]
)
def test_another_repository_triggers_nothing(sample, repo_url):
    assert sample.triggered_flows(push(repo_url=repo_url)) == []


def test_a_push_to_another_branch_than_the_apps_track_triggers_nothing(sample):
    assert sample.triggered_flows(push(ref="refs/heads/feature/login")) == []


def test_head_follows_the_default_branch(docs_example):
    on_default = push(
        repo_url="https://github.com/codefresh-sandbox/codefresh-quickstart-demo",
        changed_paths=frozenset({"demo-applications/trioapp-dev/values.yaml"}),
        commit_message="deploy 2.0",
    )

    assert summary(docs_example.triggered_flows(on_default)) == [
        ("helm-guestbook", "to-prod", "dev", "helm-guestbook-dev")
    ]
    assert docs_example.triggered_flows(on_default.model_copy(update={"default_branch": "master"})) == []
    assert docs_example.triggered_flows(on_default.model_copy(update={"default_branch": None})) == []


@pytest.mark.parametrize(
    ("changed_paths", "triggers"),
    [
        ({"envs/dev/ui/Chart.yaml"}, True),
        ({"README.md", "envs/dev/api/templates/deployment.yaml"}, True),
        ({"envs/dev/api"}, True),
        (set(), True),  # unknown: the provider did not say
        ({"envs/dev/api-gateway/values.yaml"}, False),
        ({"envs/qa/api/values.yaml", "envs/staging/ui/values.yaml"}, False),  # not the trigger environment
        ({"README.md"}, False),
    ],
)
def test_only_changes_under_a_trigger_application_path_count(sample, changed_paths, triggers):
    assert bool(sample.triggered_flows(push(changed_paths=frozenset(changed_paths)))) is triggers


def test_the_application_is_the_first_by_name_among_those_changed(sample):
    both = push(changed_paths=frozenset({"envs/dev/ui/values.yaml", "envs/dev/api/values.yaml"}))
    ui_only = push(changed_paths=frozenset({"envs/dev/ui/values.yaml"}))

    assert summary(sample.triggered_flows(both))[0][3] == "guestbook-api-dev"
    assert summary(sample.triggered_flows(ui_only))[0][3] == "guestbook-ui-dev"


def test_tag_pushes_and_branch_deletions_trigger_nothing(sample):
    assert sample.triggered_flows(push(ref="refs/tags/v1.4.2")) == []
    assert sample.triggered_flows(push(after=ZERO_SHA)) == []


def test_a_local_bare_repository_path_matches_its_file_url(load_sample):
    configuration = load_sample(
        {
            "apps/guestbook-api-dev.yaml": """\
                apiVersion: argoproj.io/v1alpha1
                kind: Application
                metadata:
                  name: guestbook-api-dev
                  labels: {codefresh.io/product: guestbook}
                spec:
                  destination: {name: in-cluster, namespace: guestbook-dev}
                  source: {repoURL: /srv/git/guestbook-deploy.git, path: ./envs/dev/api/, targetRevision: HEAD}
                """
        }
    )

    triggers = configuration.triggered_flows(push(repo_url="file:///srv/git/guestbook-deploy"))

    assert summary(triggers) == [("guestbook", "standard", "dev", "guestbook-api-dev")]


def test_a_flow_is_only_tried_when_the_push_changed_its_trigger_environment(load_sample):
    """hotfix now starts from qa: a dev push with a hotfix message falls through to standard."""
    configuration = load_sample(
        {
            "flows/hotfix.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionFlow
                metadata: {name: hotfix}
                spec:
                  triggerEnvironment: qa
                  steps: [{environment: prod, dependsOn: [qa], policy: {action: commit}}]
                """
        }
    )

    dev_push = push(commit_message="hotfix: typo")
    qa_push = push(commit_message="hotfix: typo", changed_paths=frozenset({"envs/qa/api/values.yaml"}))

    assert summary(configuration.triggered_flows(dev_push)) == [
        ("guestbook", "standard", "dev", "guestbook-api-dev")
    ]
    assert summary(configuration.triggered_flows(qa_push)) == [
        ("guestbook", "hotfix", "qa", "guestbook-api-qa")
    ]


def test_a_product_whose_selectors_all_fail_is_not_triggered(load_sample):
    configuration = load_sample(
        {
            "product.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: Product
                metadata: {name: guestbook}
                spec:
                  promotionTemplateRef: guestbook-helm
                  promotionFlows:
                    - name: standard
                      gitTriggerSelectors:
                        - {key: commitMessage, operator: NotIn, values: ["*[skip promote]*"]}
                """
        }
    )

    assert configuration.triggered_flows(push(commit_message="docs [skip promote]")) == []
    assert len(configuration.triggered_flows(push(commit_message="docs"))) == 1


def selector(key: str, operator: str, *values: str) -> GitTriggerSelector:
    return GitTriggerSelector(key=key, operator=operator, values=values)


@pytest.mark.parametrize(
    ("values", "message", "matches"),
    [
        (("hotfix",), "hotfix", True),
        (("hotfix",), "hotfix: urgent", False),  # no wildcard: the whole message
        (("hotfix*",), "hotfix: urgent", True),
        (("*hotfix*",), "Fix: the login\n\nhotfix for prod", True),  # `*` spans newlines
        (("*Hotfix*",), "a hotfix", False),  # case-sensitive
        (("release *.*",), "release 1.2", True),
        (("release ?",), "release 1", False),  # only `*` is special
        (("[wip]*",), "[wip] draft", True),
        (("*deploy*", "*release*"), "cut the release", True),
    ],
)
def test_commit_message_selector_in(values, message, matches):
    assert selector("commitMessage", "In", *values).matches(push(commit_message=message)) is matches


def test_not_in_is_the_opposite_of_in():
    chore = push(commit_message="chore: wip")
    feature = push(commit_message="feat: login")

    assert selector("commitMessage", "NotIn", "*wip*", "*do-not-deploy*").matches(chore) is False
    assert selector("commitMessage", "NotIn", "*wip*", "*do-not-deploy*").matches(feature) is True


@pytest.mark.parametrize(
    ("values", "ref", "matches"),
    [
        ((SHA,), "refs/heads/main", True),
        ((SHA[:8] + "*",), "refs/heads/main", True),
        (("3f786850",), "refs/heads/main", False),  # an abbreviated sha needs the wildcard
        (("feature/*",), "refs/heads/feature/login/form", True),  # `*` spans slashes
        (("staging-*",), "refs/heads/staging-west", True),
        (("hotfix",), "refs/heads/hotfix", True),
        (("hotfix",), "refs/heads/hotfix-2", False),
    ],
)
def test_git_revision_selector_compares_the_commit_sha_and_the_branch(values, ref, matches):
    assert selector("gitRevision", "In", *values).matches(push(ref=ref)) is matches
    assert selector("gitRevision", "NotIn", *values).matches(push(ref=ref)) is not matches


def test_numbers_are_accepted_as_selector_values():
    assert GitTriggerSelector.model_validate(
        {"key": "commitMessage", "operator": "In", "values": [42]}
    ).values == ("42",)
