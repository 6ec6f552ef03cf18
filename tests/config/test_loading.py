from datetime import timedelta

import pytest
from promotions.config import (
    EnvironmentKind,
    GitTriggerSelector,
    NotDefinedError,
    PolicyAction,
    load_configuration,
    load_configuration_dir,
)


def test_sample_folder_loads_every_kind(fixtures):
    configuration = load_configuration_dir(fixtures / "valid")

    assert list(configuration.products) == ["guestbook"]
    assert list(configuration.environments) == ["dev", "prod", "qa", "staging"]
    assert list(configuration.flows) == ["hotfix", "standard"]
    assert list(configuration.templates) == ["guestbook-helm"]
    assert list(configuration.policies) == ["guestbook-notify", "non-prod-commit", "prod-pull-request"]
    assert len(configuration.applications) == 8
    assert configuration.environments["prod"].kind is EnvironmentKind.PROD
    assert configuration.environments["qa"].kind is EnvironmentKind.NON_PROD
    assert [flow.name for flow in configuration.products["guestbook"].promotion_flows] == [
        "hotfix",
        "standard",
    ]


def test_every_application_is_placed_in_the_environment_its_destination_names(fixtures):
    configuration = load_configuration_dir(fixtures / "valid")

    placed = {name: configuration.environment_of(app) for name, app in configuration.applications.items()}

    assert placed == {name: name.rsplit("-", 1)[1] for name in configuration.applications}
    assert [app.name for app in configuration.applications_of("guestbook", "staging")] == [
        "guestbook-api-staging",
        "guestbook-ui-staging",
    ]


def test_application_fields_come_from_the_argo_cd_manifest(fixtures):
    app = load_configuration_dir(fixtures / "valid").applications["guestbook-ui-prod"]

    assert app.product == "guestbook"
    assert app.repo_url == "https://github.com/example/guestbook-deploy.git"
    assert app.canonical_repo == "github.com/example/guestbook-deploy"
    assert app.path == "envs/prod/ui"
    assert app.target_revision == "main"
    assert (app.destination.name, app.destination.namespace) == ("prod-eu", "guestbook")
    assert app.annotations == {"promotions.dev/component": "ui"}


def test_codefresh_doc_examples_load_unchanged(fixtures):
    configuration = load_configuration_dir(fixtures / "codefresh-docs")

    product = configuration.products["helm-guestbook"]
    assert product.promotion_template_ref == "gs-promotion-template"
    assert product.promotion_template.version_source.json_path == "$.appVersionInline"
    assert product.promotion_template.promotion["values.yaml"].json_paths == ("$..image",)
    assert product.promotion_flows[0].git_trigger_selectors == (
        GitTriggerSelector(key="commitMessage", operator="In", values=("*deploy*",)),
    )
    to_prod = configuration.flows["to-prod"]
    assert to_prod.hooks.on_fail == "slack-fail-hook"
    assert to_prod.steps[0].hooks.on_start == "slack-start-hook"
    assert to_prod.steps[0].policy.action is PolicyAction.COMMIT
    policy = configuration.policies["demo-policy"]
    assert (policy.priority, policy.policy.pre_action, policy.policy.post_action) == (
        2,
        "smoke-tests",
        "slack-notification",
    )
    assert [type_.kind for type_ in policy.selector.target_environment.types] == [EnvironmentKind.NON_PROD]


def test_promotion_timeout_limit_is_in_minutes_and_defaults_to_a_day(fixtures):
    configuration = load_configuration_dir(fixtures / "codefresh-docs")

    assert configuration.flows["demo"].timeout == timedelta(minutes=5)
    assert configuration.flows["to-prod"].timeout == timedelta(hours=24)


def test_fields_no_kind_has_are_errors_even_where_codefresh_may_add_some(sample_problems):
    problems = sample_problems(
        {
            "flows/hotfix.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionFlow
                metadata:
                  name: hotfix
                  uid: 1234
                spec:
                  triggerEnvironment: dev
                  postTrigger: deprecated-workflow
                  futureField: {nested: [1, 2]}
                  steps:
                    - environment: prod
                      dependsOn: [dev]
                      retries: 3
                      policy:
                        action: commit
                        approvers: [alice]
                status:
                  phase: Ready
                """
        }
    )

    assert problems == [
        (
            "flows/hotfix.yaml:9: PromotionFlow hotfix: spec.futureField is not a known field "
            "(known: hooks, postTrigger, promotionTimeoutLimit, steps, triggerEnvironment)"
        ),
        (
            "flows/hotfix.yaml:13: PromotionFlow hotfix: spec.steps[0].retries is not a known field "
            "(known: dependsOn, environment, hooks, policy)"
        ),
        (
            "flows/hotfix.yaml:16: PromotionFlow hotfix: spec.steps[0].policy.approvers is not a known field "
            "(known: action, postAction, preAction)"
        ),
        "flows/hotfix.yaml:17: PromotionFlow hotfix: status is not a known field (known: metadata, spec)",
    ]


def test_other_kinds_non_yaml_files_and_non_mapping_documents_are_ignored(load_sample):
    baseline = load_sample()

    configuration = load_sample(
        {
            "notes.txt": "this: is: not: yaml: [",
            "chart/values.json": "{not json",
            "extra/config-map.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: settings
                ---
                - a list document
                ---
                ---
                just a scalar
                ---
                apiVersion: codefresh.io/v1beta1
                kind: PromotionTask
                metadata:
                  name: codefresh-owns-this-kind
                """,
        }
    )

    assert configuration.products == baseline.products
    assert configuration.environments == baseline.environments
    assert configuration.applications == baseline.applications


def test_directory_loading_reads_yaml_and_yml_recursively_but_not_hidden_folders(tmp_path, fixtures):
    for path in (fixtures / "valid").rglob("*"):
        if path.is_file():
            target = tmp_path / path.relative_to(fixtures / "valid")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "environments.yaml").rename(tmp_path / "deep" / "er" / "environments.yml")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "broken.yaml").write_text("key: [unclosed\n")

    configuration = load_configuration_dir(tmp_path)

    assert list(configuration.environments) == ["dev", "prod", "qa", "staging"]


def test_directory_loading_of_a_missing_folder_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_configuration_dir(tmp_path / "missing")


def test_the_in_cluster_name_and_the_kubernetes_default_server_are_one_cluster(load_sample):
    """dev names the cluster `in-cluster`, staging gives its server; apps may use the other spelling."""
    configuration = load_sample(
        {
            "apps/guestbook-api-dev.yaml": """\
                apiVersion: argoproj.io/v1alpha1
                kind: Application
                metadata:
                  name: guestbook-api-dev
                  labels: {codefresh.io/product: guestbook}
                spec:
                  destination: {server: "https://kubernetes.default.svc/", namespace: guestbook-dev}
                  source: {repoURL: "https://github.com/example/guestbook-deploy.git", path: envs/dev/api}
                """,
            "apps/guestbook-api-staging.yaml": """\
                apiVersion: argoproj.io/v1alpha1
                kind: Application
                metadata:
                  name: guestbook-api-staging
                  labels: {codefresh.io/product: guestbook}
                spec:
                  destination: {name: in-cluster, namespace: guestbook-staging}
                  source: {repoURL: "https://github.com/example/guestbook-deploy.git", path: envs/staging/api}
                """,
        }
    )

    assert configuration.environment_of("guestbook-api-dev") == "dev"
    assert configuration.environment_of("guestbook-api-staging") == "staging"


def test_a_cluster_without_namespaces_is_the_whole_cluster(load_sample):
    configuration = load_sample(
        {
            "apps/guestbook-api-prod.yaml": """\
                apiVersion: argoproj.io/v1alpha1
                kind: Application
                metadata:
                  name: guestbook-api-prod
                  annotations: {codefresh.io/product: guestbook}
                spec:
                  destination: {name: prod-eu, namespace: any-namespace-at-all}
                  source: {repoURL: "https://github.com/example/guestbook-deploy.git", path: envs/prod/api}
                """
        }
    )

    assert configuration.environment_of("guestbook-api-prod") == "prod"


def test_the_upstream_argo_cd_application_is_read_once_it_names_a_product(upstream_events, load_files):
    manifest = (upstream_events / "argocd-application.yaml").read_text()
    environment = """\
        apiVersion: promotions.dev/v1alpha1
        kind: Environment
        metadata: {name: alpha}
        spec:
          kind: non-prod
          clusters: [{name: gke-alpha-01-europe-west1, namespaces: [test-lla]}]
        """

    without_product = load_files({"environment.yaml": environment, "app.yaml": manifest})
    with_product = load_files(
        {
            "environment.yaml": environment,
            "app.yaml": manifest.replace(
                "  annotations:\n", "  annotations:\n    codefresh.io/product: velero\n", 1
            ),
        }
    )

    assert without_product.applications == {}
    app = with_product.applications["velero-test"]
    assert (app.product, app.repo_url, app.path, app.target_revision) == (
        "velero",
        "https://github.com/foo/manifests-velero.git",
        "instances/test",
        "test-lla",
    )
    assert app.labels["cluster_name"] == "gke-alpha-01-europe-west1"
    assert with_product.environment_of(app) == "alpha"


def test_queries_about_undefined_names_fail_clearly(fixtures):
    configuration = load_configuration_dir(fixtures / "valid")

    with pytest.raises(NotDefinedError, match="Product shop is not defined"):
        configuration.applications_of("shop", "dev")
    with pytest.raises(NotDefinedError, match="Environment uat is not defined"):
        configuration.applications_of("guestbook", "uat")
    with pytest.raises(NotDefinedError, match="Application cert-manager is not a product application"):
        configuration.environment_of("cert-manager")
    with pytest.raises(NotDefinedError, match="PromotionFlow nightly is not defined"):
        configuration.flow_order("nightly")


def test_the_configuration_cannot_be_changed(fixtures):
    configuration = load_configuration_dir(fixtures / "valid")

    with pytest.raises(TypeError):
        configuration.products["other"] = configuration.products["guestbook"]
    with pytest.raises(AttributeError):
        configuration.products = {}


def test_an_empty_configuration_is_valid():
    configuration = load_configuration({})

    assert (configuration.products, configuration.applications) == ({}, {})
