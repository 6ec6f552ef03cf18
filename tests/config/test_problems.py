"""Every class of broken configuration, reported as `FILE:LINE: message` at the line that causes it."""

import pytest
from promotions.config import ConfigError, ConfigProblem, load_configuration, load_configuration_dir

FLOW_HEADER = """\
apiVersion: codefresh.io/v1beta1
kind: PromotionFlow
metadata:
  name: hotfix
spec:
  triggerEnvironment: dev
"""


def test_a_problem_reads_file_line_message():
    assert str(ConfigProblem("flows/a.yaml", 7, "bad")) == "flows/a.yaml:7: bad"
    assert str(ConfigProblem("flows/a.yaml", None, "bad")) == "flows/a.yaml: bad"


def test_yaml_syntax_error_points_at_its_line(sample_problems):
    assert sample_problems(
        {"product.yaml": "apiVersion: codefresh.io/v1beta1\nkind: [Product\nmetadata: {}\n"}
    ) == ["product.yaml:3: invalid YAML: while parsing a flow sequence; expected ',' or ']', but got ':'"]


def test_duplicate_yaml_keys_are_a_syntax_error(sample_problems):
    problems = sample_problems({"flows/hotfix.yaml": FLOW_HEADER + "  triggerEnvironment: qa\n"})

    assert problems == [
        (
            'flows/hotfix.yaml:7: invalid YAML: while constructing a mapping; found duplicate key "triggerEnvironment" '
            'with value "qa" (original value: "dev")'
        )
    ]


def _problems(files: dict[str, bytes]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_configuration(files)
    return [str(problem) for problem in raised.value.problems]


def test_bad_utf8_is_reported_at_its_line():
    assert _problems({"binary.yaml": b"a: 1\nb: caf\xe9\n"}) == [
        "binary.yaml:2: not UTF-8 text (invalid continuation byte at byte 11)"
    ]


def test_a_nul_byte_is_reported_at_its_line():
    assert _problems({"nul.yaml": b"a: 1\nb: 2\nc: \x00\n"}) == [
        "nul.yaml:3: invalid YAML: unacceptable character #x0000: special characters are not allowed"
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: " + "[" * 300 + "]" * 300, 1),
        ("a: 1\nb: " + "{k: " * 250 + "1" + "}" * 250, 2),
        ("".join("  " * level + "k:\n" for level in range(300)), 101),
    ],
)
def test_nesting_too_deep_to_be_configuration_is_a_problem_not_a_crash(text, line):
    assert _problems({"deep.yaml": text.encode()}) == [
        f"deep.yaml:{line}: invalid YAML: nested more than 100 levels deep"
    ]


def test_nesting_of_100_levels_is_read():
    text = "a: " + "[" * 99 + "]" * 99

    assert not load_configuration({"deep.yaml": text.encode()}).products


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2001-13-45", "invalid YAML: cannot read timestamp 2001-13-45: month must be in 1..12"),
        ("!!int ten", "invalid YAML: cannot read int ten: invalid literal for int() with base 10: 'ten'"),
        ("!!bool maybe", "invalid YAML: cannot read bool maybe: 'maybe'"),
        ("{? {k: {n: 1}} : x}", "invalid YAML: cannot read map: unhashable type: 'CommentedMap'"),
    ],
)
def test_values_yaml_cannot_construct_are_problems_at_their_line(value, message):
    assert _problems({"values.yaml": f"a: 1\nb: {value}\n".encode()}) == [f"values.yaml:2: {message}"]


def test_a_misspelt_required_field_is_reported_as_misspelt_not_also_as_missing(sample_problems):
    problems = sample_problems(
        {
            "flows/hotfix.yaml": FLOW_HEADER
            + """\
  steps:
    - environment: prod
      dependOn: [dev]
"""
        }
    )

    assert problems == [
        (
            "flows/hotfix.yaml:9: PromotionFlow hotfix: spec.steps[0].dependOn is not a known field "
            "(did you mean dependsOn?)"
        )
    ]


def test_schema_errors_point_at_the_field(sample_problems):
    problems = sample_problems(
        {
            "policies/policies.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionPolicy
                metadata:
                  name: everything
                spec:
                  priority: first
                  selector:
                    targetEnvironment:
                      types: [PROD, STAGING]
                  policy:
                    action: merge
                """
        }
    )

    assert problems == [
        (
            "policies/policies.yaml:6: PromotionPolicy everything: spec.priority: "
            "Input should be a valid integer, unable to parse string as an integer"
        ),
        (
            "policies/policies.yaml:9: PromotionPolicy everything: spec.selector.targetEnvironment.types[1]: "
            "Input should be 'PROD' or 'NON_PROD'"
        ),
        (
            "policies/policies.yaml:11: PromotionPolicy everything: spec.policy.action: "
            "Input should be 'commit', 'pr' or 'none'"
        ),
    ]


def test_all_problems_are_reported_not_just_the_first(fixtures):
    with pytest.raises(ConfigError) as raised:
        load_configuration_dir(fixtures / "broken")

    assert [str(problem) for problem in raised.value.problems] == [
        "apps.yaml:22: Application shop-prod: destination (cluster prod-us, namespace shop) is in no Environment",
        "flow.yaml:8: PromotionFlow release: step qa is not a defined Environment",
        (
            "flow.yaml:14: PromotionFlow release: step prod depends on staging, which is neither the trigger "
            "environment nor a step of this flow"
        ),
        (
            "policy.yaml:6: PromotionPolicy everything: spec.priority: Input should be a valid integer, unable to "
            "parse string as an integer"
        ),
        (
            "policy.yaml:18: PromotionPolicy production-by-pull-request: selects environment production, which is not "
            "a defined Environment"
        ),
        "product.yaml:6: Product shop: promotionTemplateRef shop-template is not a defined PromotionTemplate",
    ]


def test_an_unreadable_file_silences_what_it_might_have_defined(sample_problems):
    """The product file does not parse, so the policy naming `guestbook` is not reported as naming nothing;
    what is wrong on its own (a flow's foreign dependency) still is."""
    problems = sample_problems(
        {
            "product.yaml": "kind: Product\nmetadata: {name: [guestbook}\n",
            "flows/hotfix.yaml": FLOW_HEADER + "  steps: [{environment: prod, dependsOn: [qa]}]\n",
        }
    )

    assert problems == [
        (
            "flows/hotfix.yaml:7: PromotionFlow hotfix: step prod depends on qa, which is neither the trigger "
            "environment nor a step of this flow"
        ),
        "product.yaml:2: invalid YAML: while parsing a flow sequence; expected ',' or ']', but got '}'",
    ]


def test_a_broken_environment_is_not_also_reported_missing(sample_files, sample_problems):
    """dev's kind is wrong: its applications are not called homeless nor the flows' dev unknown."""
    environments = (
        sample_files["environments.yaml"].decode().replace("  kind: non-prod\n", "  kind: dev\n", 1)
    )

    assert sample_problems({"environments.yaml": environments}) == [
        "environments.yaml:6: Environment dev: spec.kind: Input should be 'prod' or 'non-prod'"
    ]


def test_duplicate_names_of_one_kind_point_at_the_second(sample_problems):
    problems = sample_problems(
        {
            "more/flows.yaml": """\
                # a copy of the hotfix flow
                apiVersion: codefresh.io/v1beta1
                kind: PromotionFlow
                metadata:
                  name: hotfix
                spec:
                  triggerEnvironment: dev
                  steps: [{environment: prod, dependsOn: [dev]}]
                """
        }
    )

    assert problems == [
        "more/flows.yaml:5: PromotionFlow hotfix is defined twice (first at flows/hotfix.yaml:4)"
    ]


def test_the_same_name_in_two_kinds_is_fine(load_sample):
    configuration = load_sample(
        {
            "templates/qa.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionTemplate
                metadata:
                  name: qa
                spec:
                  applicationSourceSelector: {matchLabels: {team: nobody}}
                  priority: 9
                  versionSource: {file: Chart.yaml, jsonPath: $.version}
                """
        }
    )

    assert "qa" in configuration.templates and "qa" in configuration.environments


def test_unknown_references_from_products(sample_problems):
    problems = sample_problems(
        {
            "product.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: Product
                metadata:
                  name: guestbook
                spec:
                  promotionTemplateRef: guestbook-helm-v2
                  promotionFlows:
                    - name: standard
                    - name: nightly
                """
        }
    )

    assert problems == [
        "product.yaml:6: Product guestbook: promotionTemplateRef guestbook-helm-v2 is not a defined PromotionTemplate",
        "product.yaml:9: Product guestbook: promotion flow nightly is not a defined PromotionFlow",
    ]


def test_unknown_environments_and_foreign_dependencies_in_flows(sample_problems):
    problems = sample_problems(
        {
            "flows/nightly.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionFlow
                metadata:
                  name: nightly
                spec:
                  triggerEnvironment: development
                  steps:
                    - environment: qa
                      dependsOn:
                        - development
                        - staging
                    - environment: uat
                      dependsOn: [qa]
                    - environment: development
                      dependsOn: [qa]
                    - environment: qa
                      dependsOn: [development]
                """
        }
    )

    assert problems == [
        "flows/nightly.yaml:6: PromotionFlow nightly: triggerEnvironment development is not a defined Environment",
        (
            "flows/nightly.yaml:11: PromotionFlow nightly: step qa depends on staging, which is neither the trigger "
            "environment nor a step of this flow"
        ),
        "flows/nightly.yaml:12: PromotionFlow nightly: step uat is not a defined Environment",
        "flows/nightly.yaml:14: PromotionFlow nightly: step development is the trigger environment",
        "flows/nightly.yaml:16: PromotionFlow nightly: environment qa has two steps",
    ]


def test_dependency_cycles_are_named(sample_problems):
    problems = sample_problems(
        {
            "flows/standard.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionFlow
                metadata:
                  name: standard
                spec:
                  triggerEnvironment: dev
                  steps:
                    - environment: qa
                      dependsOn: [dev, prod]
                    - environment: staging
                      dependsOn: [qa]
                    - environment: prod
                      dependsOn: [staging]
                """
        }
    )

    assert problems == [
        "flows/standard.yaml:9: PromotionFlow standard: dependsOn cycle qa -> prod -> staging -> qa"
    ]


def test_a_step_depending_on_itself_is_a_cycle(sample_problems):
    problems = sample_problems(
        {"flows/hotfix.yaml": FLOW_HEADER + "  steps:\n    - environment: prod\n      dependsOn: [prod]\n"}
    )

    assert problems == ["flows/hotfix.yaml:9: PromotionFlow hotfix: dependsOn cycle prod -> prod"]


def test_a_product_needs_an_application_in_every_environment_its_flows_use(sample_problems):
    problems = sample_problems({"apps/guestbook-ui-qa.yaml": None, "apps/guestbook-api-qa.yaml": None})

    assert problems == [
        "product.yaml:14: Product guestbook: no Application in environment qa, which flow standard uses"
    ]


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        (
            "{name: in-cluster, namespace: guestbook-uat}",
            ("destination (cluster in-cluster, namespace guestbook-uat) is in no Environment"),
        ),
        (
            "{server: 'https://prod-us.example.com:6443', namespace: kube-system}",
            (
                "destination (cluster "
                "https://prod-us.example.com:6443, namespace kube-system) is in no Environment"
            ),
        ),
        (
            "{name: prod-asia, namespace: guestbook}",
            ("destination (cluster prod-asia, namespace guestbook) is in no Environment"),
        ),
    ],
)
def test_an_application_outside_every_environment(sample_problems, destination, message):
    app = f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata:
          name: guestbook-api-uat
          annotations: {{codefresh.io/product: guestbook}}
        spec:
          destination: {destination}
          source: {{repoURL: "https://github.com/example/guestbook-deploy.git", path: envs/uat/api}}
        """

    assert sample_problems({"apps/uat.yaml": app}) == [
        f"apps/uat.yaml:7: Application guestbook-api-uat: {message}"
    ]


def test_an_application_in_two_environments(sample_problems):
    problems = sample_problems(
        {
            "more/environments.yaml": """\
                apiVersion: promotions.dev/v1alpha1
                kind: Environment
                metadata: {name: everything-in-cluster}
                spec:
                  kind: non-prod
                  clusters: [{server: "https://kubernetes.default.svc"}]
                """
        }
    )

    assert len(problems) == 6  # the six applications of the management cluster
    assert problems[0] == (
        "apps/guestbook-api-dev.yaml:12: Application guestbook-api-dev: destination (cluster in-cluster, "
        "namespace guestbook-dev) is in more than one Environment: dev, everything-in-cluster"
    )


def test_argo_cd_applications_of_a_product_must_be_readable(sample_problems):
    problems = sample_problems(
        {
            "apps/more.yaml": """\
                apiVersion: argoproj.io/v1alpha1
                kind: Application
                metadata:
                  name: multi-source
                  annotations: {codefresh.io/product: guestbook}
                spec:
                  destination: {name: in-cluster, namespace: guestbook-dev}
                  sources:
                    - repoURL: https://github.com/example/guestbook-deploy.git
                ---
                apiVersion: argoproj.io/v1alpha1
                kind: Application
                metadata:
                  name: undecided
                  annotations: {codefresh.io/product: guestbook}
                  labels: {codefresh.io/product: bookshop}
                spec: {}
                ---
                apiVersion: argoproj.io/v1alpha1
                kind: Application
                metadata:
                  name: no-destination
                  annotations: {codefresh.io/product: guestbook}
                spec:
                  source: {path: envs/dev}
                """
        }
    )

    assert problems == [
        (
            "apps/more.yaml:8: Application multi-source: multi-source Applications (spec.sources) are not supported: "
            "use spec.source"
        ),
        (
            "apps/more.yaml:16: Application undecided: label codefresh.io/product=bookshop contradicts its annotation "
            "codefresh.io/product=guestbook"
        ),
        "apps/more.yaml:24: Application no-destination: spec.destination is required",
        "apps/more.yaml:25: Application no-destination: spec.source.repoURL is required",
    ]


def test_bad_jsonpaths_in_templates(sample_problems):
    problems = sample_problems(
        {
            "templates/guestbook-helm.yaml": """\
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
                    jsonPath: $appVersion
                  promotion:
                    values.yaml:
                      jsonPaths:
                        - $.image.tag
                        - $.image[
                    README.md:
                      jsonPaths: ["*"]
                """
        }
    )

    assert problems == [
        (
            "templates/guestbook-helm.yaml:12: PromotionTemplate guestbook-helm: spec.versionSource.jsonPath: invalid "
            "JSONPath '$appVersion': expected '.', '..' or a bracketed selection, found 'a' at character 2 "
            "(did you mean '$.appVersion'?)"
        ),
        (
            "templates/guestbook-helm.yaml:17: PromotionTemplate guestbook-helm: spec.promotion['values.yaml']"
            ".jsonPaths[1]: invalid JSONPath '$.image[': unbalanced brackets at character 9"
        ),
    ]


def test_bad_jsonpaths_in_an_inline_template(sample_problems):
    problems = sample_problems(
        {
            "product.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: Product
                metadata:
                  name: guestbook
                spec:
                  promotionTemplate:
                    versionSource: {file: Chart.yaml, jsonPath: "$.version"}
                    promotion:
                      Chart.yaml:
                        jsonPaths: [appVersion]
                  promotionFlows: [{name: standard}]
                """
        }
    )

    assert problems == [
        (
            "product.yaml:10: Product guestbook: spec.promotionTemplate.promotion['Chart.yaml'].jsonPaths[0]: invalid "
            "JSONPath 'appVersion': expected '$', found 'a' at character 1"
        )
    ]


def test_a_template_needs_a_version_source(sample_problems):
    problems = sample_problems(
        {
            "templates/guestbook-helm.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionTemplate
                metadata:
                  name: guestbook-helm
                spec:
                  applicationSourceSelector: {matchLabels: {codefresh.io/product: guestbook}}
                  priority: 1
                """
        }
    )

    assert problems == [
        "templates/guestbook-helm.yaml:5: PromotionTemplate guestbook-helm: spec.versionSource is required"
    ]


def test_a_product_without_any_template(sample_problems):
    problems = sample_problems(
        {
            "product.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: Product
                metadata:
                  name: guestbook
                spec:
                  promotionFlows: [{name: standard}]
                """,
            "templates/guestbook-helm.yaml": None,
        }
    )

    assert problems == [
        (
            "product.yaml:4: no PromotionTemplate applies to Product guestbook: it has neither spec.promotionTemplate "
            "nor spec.promotionTemplateRef, and no template's applicationSourceSelector matches all its Applications"
        )
    ]


def test_policy_selectors_must_name_what_exists(sample_problems):
    problems = sample_problems(
        {
            "policies/more.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionPolicy
                metadata:
                  name: typos
                spec:
                  priority: 1
                  selector:
                    product:
                      names: [guestbook, gestbook]
                      tags: [web]
                    targetEnvironment:
                      names:
                        - staging
                        - produciton
                  policy: {action: pr}
                """
        }
    )

    assert problems == [
        "policies/more.yaml:9: PromotionPolicy typos: selects product gestbook, which is not a defined Product",
        "policies/more.yaml:10: PromotionPolicy typos: selector.product.tags is not supported: select by names",
        (
            "policies/more.yaml:14: PromotionPolicy typos: selects environment produciton, which is not a defined "
            "Environment"
        ),
    ]


def test_a_flow_step_left_without_an_action(sample_problems):
    problems = sample_problems({"policies/policies.yaml": None})

    assert problems == [
        (
            "product.yaml:14: no promotion action for Product guestbook in environment prod: nothing sets "
            "policy.action (consulted: flow:standard/step:prod)"
        ),
        (
            "product.yaml:14: no promotion action for Product guestbook in environment qa: nothing sets "
            "policy.action (consulted: flow:standard/step:qa)"
        ),
        (
            "product.yaml:14: no promotion action for Product guestbook in environment staging: nothing sets "
            "policy.action (consulted: flow:standard/step:staging)"
        ),
    ]


def test_unsupported_versions_of_known_kinds_and_unknown_kinds_of_our_group(sample_problems):
    problems = sample_problems(
        {
            "more.yaml": """\
                apiVersion: codefresh.io/v1alpha1
                kind: Product
                metadata: {name: legacy}
                ---
                apiVersion: promotions.dev/v1alpha1
                kind: Enviroment
                metadata: {name: uat}
                """
        }
    )

    assert problems == [
        (
            "more.yaml:1: Product legacy: apiVersion codefresh.io/v1alpha1 is not supported "
            "(codefresh.io/v1beta1, codefresh.io/v1beta2)"
        ),
        "more.yaml:6: unknown kind Enviroment for apiVersion promotions.dev/v1alpha1",
    ]


def test_a_broken_definition_does_not_also_make_its_references_unknown(sample_problems):
    problems = sample_problems({"flows/hotfix.yaml": FLOW_HEADER + "  steps: []\n"})

    assert problems == [
        (
            "flows/hotfix.yaml:7: PromotionFlow hotfix: spec.steps: Tuple should have at least 1 item after "
            "validation, not 0"
        )
    ]
