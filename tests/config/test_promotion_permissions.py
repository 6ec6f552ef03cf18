"""The PromotionPermissions kind: rules of subjects, verbs, products and environments, their mistakes reported at
FILE:LINE like every kind's."""

from __future__ import annotations

from promotions.config import EnvironmentKind, Verb

PERMISSIONS = """\
apiVersion: promotions.dev/v1alpha1
kind: PromotionPermissions
metadata:
  name: release-managers
spec:
  rules:
    - subjects:
        - iamPrincipal: arn:aws:sts::111122223333:assumed-role/Deployer/*
        - jwtGroup: ops
        - slackUser: U012AB3CD
      verbs: [trigger, promote]
      products: [guestbook]
      environments: {names: [qa], kinds: [non-prod]}
    - subjects: [{tokenHolder: local token holder}]
      verbs: [approve]
"""


def test_rules_load_with_their_subjects_verbs_products_and_environments(load_sample):
    [first, second] = load_sample({"permissions.yaml": PERMISSIONS}).permissions["release-managers"].rules

    assert [str(subject) for subject in first.subjects] == [
        "iamPrincipal arn:aws:sts::111122223333:assumed-role/Deployer/*",
        "jwtGroup ops",
        "slackUser U012AB3CD",
    ]
    assert first.verbs == (Verb.TRIGGER, Verb.PROMOTE)
    assert first.products == ("guestbook",)
    assert first.environments is not None and first.environments.kinds == (EnvironmentKind.NON_PROD,)
    # Left out: every product, every environment.
    assert (second.products, second.environments) == (None, None)


def test_a_configuration_without_one_has_no_rules(load_sample):
    assert dict(load_sample().permissions) == {}


def test_mistakes_are_reported_at_their_line(sample_problems):
    broken = (
        PERMISSIONS.replace("verbs: [trigger, promote]", "verbs: [trigger, deploy]")
        .replace("- jwtGroup: ops", "- {jwtGroup: ops, slackGroup: S1}")
        .replace("kinds: [non-prod]", "kinds: [production]")
    )
    problems = sample_problems({"permissions.yaml": broken})

    assert problems == [
        (
            "permissions.yaml:9: PromotionPermissions release-managers: spec.rules[0].subjects[1]: a subject is exactly "
            "one of iamPrincipal, jwtSubject, jwtGroup, tokenHolder, slackUser, slackGroup; this one gives 2"
        ),
        (
            "permissions.yaml:11: PromotionPermissions release-managers: spec.rules[0].verbs[1]: Input should be "
            "'trigger', 'promote', 'rollback', 'approve', 'retry' or 'terminate'"
        ),
        (
            "permissions.yaml:13: PromotionPermissions release-managers: spec.rules[0].environments.kinds[0]: Input "
            "should be 'prod' or 'non-prod'"
        ),
    ]


def test_a_wildcard_may_only_end_an_iam_principal(sample_problems):
    problems = sample_problems(
        {"permissions.yaml": PERMISSIONS.replace("assumed-role/Deployer/*", "assumed-role/*/alice")}
    )

    assert problems == [
        (
            "permissions.yaml:8: PromotionPermissions release-managers: spec.rules[0].subjects[0].iamPrincipal: "
            "'arn:aws:sts::111122223333:assumed-role/*/alice': '*' may only end the ARN, standing for any rest (an "
            "assumed role's sessions: arn:aws:sts::ACCOUNT:assumed-role/ROLE/*)"
        )
    ]


def test_products_and_environments_must_be_defined(sample_problems):
    problems = sample_problems(
        {
            "permissions.yaml": PERMISSIONS.replace("products: [guestbook]", "products: [guestbok]").replace(
                "names: [qa]", "names: [qa, perf]"
            )
        }
    )

    assert problems == [
        (
            "permissions.yaml:12: PromotionPermissions release-managers: rule 1 names product guestbok, which is not "
            "a defined Product"
        ),
        (
            "permissions.yaml:13: PromotionPermissions release-managers: rule 1 names environment perf, which is not a "
            "defined Environment"
        ),
    ]


def test_an_empty_environment_selection_says_to_leave_it_out(sample_problems):
    problems = sample_problems(
        {
            "permissions.yaml": PERMISSIONS.replace(
                "environments: {names: [qa], kinds: [non-prod]}", "environments: {}"
            )
        }
    )

    assert problems == [
        (
            "permissions.yaml:13: PromotionPermissions release-managers: spec.rules[0].environments: give names or kinds "
            "(prod, non-prod); leave environments out for all of them"
        )
    ]
