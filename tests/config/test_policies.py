"""Policy merging: every policy that selects the product and target environment applies, field by field,
the lowest priority number first; a flow step's inline policy overrides them all."""

import pytest
from promotions.config import NotDefinedError, PolicyAction, PolicyError

OVERLAPPING_POLICIES = """\
    apiVersion: codefresh.io/v1beta1
    kind: PromotionPolicy
    metadata: {name: global-defaults}
    spec:
      priority: 30
      policy: {action: commit, preAction: global-checks, postAction: global-notify}
    ---
    apiVersion: codefresh.io/v1beta1
    kind: PromotionPolicy
    metadata: {name: non-prod-review}
    spec:
      priority: 20
      selector:
        targetEnvironment: {types: [NON_PROD]}
      policy: {action: pr, postAction: non-prod-notify}
    ---
    apiVersion: codefresh.io/v1beta1
    kind: PromotionPolicy
    metadata: {name: guestbook-qa}
    spec:
      priority: 10
      selector:
        product: {names: [guestbook]}
        targetEnvironment: {names: [qa]}
      policy: {preAction: guestbook-smoke-tests}
    """

STANDARD_FLOW_WITH_QA_POLICY = """\
    apiVersion: codefresh.io/v1beta1
    kind: PromotionFlow
    metadata: {name: standard}
    spec:
      triggerEnvironment: dev
      steps:
        - environment: qa
          dependsOn: [dev]
          policy: {postAction: qa-signoff}
        - environment: staging
          dependsOn: [dev]
        - environment: prod
          dependsOn: [qa, staging]
    """


@pytest.fixture
def overlapping(load_sample):
    return load_sample(
        {"policies/policies.yaml": OVERLAPPING_POLICIES, "flows/standard.yaml": STANDARD_FLOW_WITH_QA_POLICY}
    )


def test_three_overlapping_policies_and_the_step_policy_merge_field_by_field(overlapping):
    policy = overlapping.policy_for("guestbook", "qa", "standard")

    assert (policy.action, policy.pre_action, policy.post_action) == (
        PolicyAction.PR,
        "guestbook-smoke-tests",
        "qa-signoff",
    )
    assert policy.sources == {
        "action": "non-prod-review",
        "pre_action": "guestbook-qa",
        "post_action": "flow:standard/step:qa",
    }


def test_without_a_flow_only_the_policies_merge(overlapping):
    policy = overlapping.policy_for("guestbook", "qa")

    assert (policy.action, policy.pre_action, policy.post_action) == (
        PolicyAction.PR,
        "guestbook-smoke-tests",
        "non-prod-notify",
    )


def test_a_policy_whose_selector_does_not_match_does_not_apply(overlapping):
    prod = overlapping.policy_for("guestbook", "prod", "standard")
    staging = overlapping.policy_for("guestbook", "staging", "standard")

    assert prod.sources == dict.fromkeys(("action", "pre_action", "post_action"), "global-defaults")
    assert (staging.action, staging.pre_action, staging.post_action) == (
        PolicyAction.PR,
        "global-checks",
        "non-prod-notify",
    )


def test_the_step_policy_overrides_the_action_too(load_sample):
    """The sample's hotfix step commits straight to prod where the prod policy would open a pull request."""
    configuration = load_sample()

    assert configuration.policy_for("guestbook", "prod", "standard").action is PolicyAction.PR
    hotfix = configuration.policy_for("guestbook", "prod", "hotfix")
    assert hotfix.action is PolicyAction.COMMIT
    assert hotfix.sources["action"] == "flow:hotfix/step:prod"
    assert hotfix.sources["pre_action"] == "prod-pull-request"


def policies(*specs: tuple[str, int, str]) -> str:
    """Global policies, by (name, priority, action)."""
    return "---\n".join(
        f"apiVersion: codefresh.io/v1beta1\nkind: PromotionPolicy\nmetadata: {{name: {name}}}\n"
        f"spec: {{priority: {priority}, policy: {{action: {action}}}}}\n"
        for name, priority, action in specs
    )


@pytest.mark.parametrize(
    ("specs", "winner"),
    [
        ((("b-policy", 5, "commit"), ("a-policy", 5, "pr")), "a-policy"),  # a tie goes to the first name
        ((("b-policy", 5, "commit"), ("a-policy", 6, "pr")), "b-policy"),
        ((("zero", 0, "commit"), ("negative", -1, "pr")), "negative"),  # negative numbers are stronger still
    ],
)
def test_the_lowest_priority_number_wins(load_sample, specs, winner):
    configuration = load_sample({"policies/policies.yaml": policies(*specs)})

    assert configuration.policy_for("guestbook", "qa").sources["action"] == winner


def test_every_given_selector_part_must_match(load_sample):
    configuration = load_sample(
        {
            "policies/more.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionPolicy
                metadata: {name: qa-but-prod}
                spec:
                  priority: -100
                  selector:
                    targetEnvironment: {names: [qa], types: [PROD]}
                  policy: {action: none}
                """
        }
    )

    assert configuration.policy_for("guestbook", "qa").action is PolicyAction.COMMIT


def test_no_action_anywhere_is_a_policy_error(load_sample):
    """Only prod has a policy and sandbox is in no flow, so loading accepts it; asking for its policy does not."""
    configuration = load_sample(
        {
            "policies/policies.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionPolicy
                metadata: {name: prod-only}
                spec:
                  priority: 1
                  selector: {targetEnvironment: {types: [PROD]}}
                  policy: {action: pr, postAction: notify}
                """,
            "environments/sandbox.yaml": """\
                apiVersion: promotions.dev/v1alpha1
                kind: Environment
                metadata: {name: sandbox}
                spec: {kind: non-prod, clusters: [{name: sandbox-cluster}]}
                """,
            "flows/standard.yaml": """\
                apiVersion: codefresh.io/v1beta1
                kind: PromotionFlow
                metadata: {name: standard}
                spec:
                  triggerEnvironment: dev
                  steps:
                    - {environment: qa, dependsOn: [dev], policy: {action: commit}}
                    - {environment: staging, dependsOn: [dev], policy: {action: commit}}
                    - {environment: prod, dependsOn: [qa, staging]}
                """,
        }
    )

    assert configuration.policy_for("guestbook", "qa", "standard").action is PolicyAction.COMMIT
    with pytest.raises(PolicyError, match="no promotion action for Product guestbook in environment sandbox"):
        configuration.policy_for("guestbook", "sandbox")


def test_an_environment_that_is_not_a_step_of_the_flow(load_sample):
    with pytest.raises(NotDefinedError, match="environment qa is not a step of PromotionFlow hotfix"):
        load_sample().policy_for("guestbook", "qa", "hotfix")
