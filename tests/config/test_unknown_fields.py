"""Keys a kind's schema does not have are errors at their line, with a did-you-mean; Codefresh fields we accept
without acting on them are warnings."""

import pytest
from promotions.config import ConfigError, load_configuration

TEMPLATE = """\
apiVersion: codefresh.io/v1beta1
kind: PromotionTemplate
metadata:
  name: guestbook-helm
spec:
  applicationSourceSelector:
    matchLabels:
      codefresh.io/product: guestbook
  priority: 1
  versionSource:
    file: Chart.yaml
    jsonPath: $.appVersion
"""


def test_a_misspelt_promotion_in_a_template_is_not_promote_everything(sample_problems):
    problems = sample_problems(
        {
            "templates/guestbook-helm.yaml": TEMPLATE
            + "  promotio:\n    values.yaml: {jsonPaths: [$.image.tag]}\n"
        }
    )

    assert problems == [
        (
            "templates/guestbook-helm.yaml:13: PromotionTemplate guestbook-helm: spec.promotio is not a known field "
            "(did you mean promotion?)"
        )
    ]


def test_a_misspelt_git_trigger_selector_does_not_drop_the_guard(sample_problems):
    problems = sample_problems(
        {
            "product.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: Product
                metadata:
                  name: guestbook
                spec:
                  promotionTemplateRef: guestbook-helm
                  promotionFlows:
                    - name: hotfix
                      gitTriggerSelector:
                        - {key: commitMessage, operator: In, values: ["*hotfix*"]}
                    - name: standard
                """
        }
    )

    assert problems == [
        (
            "product.yaml:9: Product guestbook: spec.promotionFlows[0].gitTriggerSelector is not a known field "
            "(did you mean gitTriggerSelectors?)"
        )
    ]


def test_a_misspelt_selector_does_not_make_a_policy_global(sample_problems, sample_files):
    policies = sample_files["policies/policies.yaml"].decode().replace("  selector:\n", "  selectr:\n", 1)

    assert sample_problems({"policies/policies.yaml": policies}) == [
        (
            "policies/policies.yaml:7: PromotionPolicy non-prod-commit: spec.selectr is not a known field "
            "(did you mean selector?)"
        )
    ]


def test_unknown_keys_at_every_level_of_every_kind(sample_problems):
    # PromotionChecks make the sample's own hooks and actions references to check: only more.yaml matters here.
    problems = sample_problems(
        {
            "more.yaml": """\
                apiVersion: promotions.dev/v1alpha1
                kind: Environment
                metadata: {name: uat}
                spec:
                  kind: non-prod
                  clusters: [{name: in-cluster, namespace: guestbook-uat}]
                  verfication: none
                ---
                apiVersion: promotions.dev/v1alpha1
                kind: PromotionCheck
                metadata: {name: soak}
                spce: {soakTime: {environments: [dev], duration: 10m}}
                ---
                apiVersion: promotions.dev/v1alpha1
                kind: PromotionCheck
                metadata: {name: wait}
                spec: {soakTime: {environments: [dev], duraton: 10m}}
                ---
                apiVersion: promotions.dev/v1alpha1
                kind: GitRepository
                metadata: {name: ghe}
                spec: {url: "https://github.example.com/", apiURL: "https://github.example.com/api/v3"}
                ---
                apiVersion: codefresh.io/v1beta1
                kind: PromotionFlow
                metadata: {name: nightly}
                spec:
                  triggerEnvironment: dev
                  steps: [{environment: qa, dependsOn: [dev], policy: {action: commit, preActions: smoke}}]
                  zzz: 1
                """
        }
    )

    assert [problem for problem in problems if problem.startswith("more.yaml:")] == [
        "more.yaml:6: Environment uat: spec.clusters[0].namespace is not a known field (did you mean namespaces?)",
        "more.yaml:7: Environment uat: spec.verfication is not a known field (did you mean verification?)",
        "more.yaml:12: PromotionCheck soak: spce is not a known field (did you mean spec?)",
        "more.yaml:17: PromotionCheck wait: spec.soakTime.duraton is not a known field (did you mean duration?)",
        "more.yaml:22: GitRepository ghe: spec.apiURL is not a known field (did you mean apiUrl?)",
        (
            "more.yaml:29: PromotionFlow nightly: spec.steps[0].policy.preActions is not a known field "
            "(did you mean preAction?)"
        ),
        (
            "more.yaml:30: PromotionFlow nightly: spec.zzz is not a known field "
            "(known: hooks, postTrigger, promotionTimeoutLimit, steps, triggerEnvironment)"
        ),
    ]


def test_metadata_is_kubernetes_own_and_open(load_sample, sample_files):
    product = (
        sample_files["product.yaml"]
        .decode()
        .replace("  name: guestbook\n", "  name: guestbook\n  labels: {team: web}\n  uid: 1234\n", 1)
    )

    assert "guestbook" in load_sample({"product.yaml": product}).products


def test_applications_are_argo_cds_schema_except_the_destination_we_read(
    sample_files, sample_problems, load_sample
):
    app = sample_files["apps/guestbook-api-dev.yaml"].decode()
    with_argo_fields = app.replace(
        "spec:\n", "status: {sync: {status: Synced}}\nspec:\n  revisionHistoryLimit: 3\n", 1
    )
    assert load_sample({"apps/guestbook-api-dev.yaml": with_argo_fields}).applications["guestbook-api-dev"]

    misspelt = app.replace("    namespace: guestbook-dev\n", "    namspace: guestbook-dev\n", 1)
    assert sample_problems({"apps/guestbook-api-dev.yaml": misspelt}) == [
        (
            "apps/guestbook-api-dev.yaml:14: Application guestbook-api-dev: spec.destination.namspace is not a known "
            "field (did you mean namespace?)"
        )
    ]


def test_codefresh_fields_we_do_not_act_on_are_warnings(load_sample, sample_files):
    flow = sample_files["flows/hotfix.yaml"].decode() + "  postTrigger: notify-slack\n"
    policies = (
        sample_files["policies/policies.yaml"]
        .decode()
        .replace("  name: non-prod-commit\n", "  name: non-prod-commit\nstatus: {}\n", 1)
    )

    configuration = load_sample({"flows/hotfix.yaml": flow, "policies/policies.yaml": policies})

    assert [str(warning) for warning in configuration.warnings] == [
        (
            f"flows/hotfix.yaml:{flow.count(chr(10))}: PromotionFlow hotfix: spec.postTrigger is ignored: "
            "Codefresh deprecated it for hooks.onStart"
        ),
        "policies/policies.yaml:5: PromotionPolicy non-prod-commit: status is ignored: the cluster writes it",
    ]


def test_a_valid_configuration_without_such_fields_has_no_warnings(load_sample):
    assert load_sample().warnings == ()


def test_warnings_come_along_with_problems(sample_files):
    files = dict(sample_files)
    files["flows/hotfix.yaml"] += b"  postTrigger: notify-slack\n"
    files["product.yaml"] = files["product.yaml"].replace(b"name: standard", b"name: nightly")

    with pytest.raises(ConfigError) as raised:
        load_configuration(files)

    assert [problem.file for problem in raised.value.warnings] == ["flows/hotfix.yaml"]
    assert raised.value.problems


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../../etc/passwd", "a '..' segment leaves the application's folder"),
        ("/etc/passwd", "an absolute path leaves the application's folder"),
        ("envs\\\\values.yaml", "use '/' between folders, not '\\'"),
        ("envs//values.yaml", "an empty segment"),
        ("envs/", "an empty segment"),
        ("./values.yaml", "a '.' segment never matches a file: write the path without it"),
        ("", "an empty path"),
    ],
)
def test_template_paths_stay_inside_the_application(sample_problems, path, reason):
    problems = sample_problems(
        {
            "templates/guestbook-helm.yaml": TEMPLATE.replace("file: Chart.yaml", f'file: "{path}"')
            + f'  promotion:\n    "{path}": {{jsonPaths: [$.image.tag]}}\n'
        }
    )

    shown = path.replace("\\\\", "\\")
    assert problems == [
        (
            f"templates/guestbook-helm.yaml:11: PromotionTemplate guestbook-helm: spec.versionSource.file: "
            f"{shown!r} is not a path inside the application: {reason}"
        ),
        (
            f"templates/guestbook-helm.yaml:14: PromotionTemplate guestbook-helm: spec.promotion key: "
            f"{shown!r} is not a path inside the application: {reason}"
        ),
    ]
