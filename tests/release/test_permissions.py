"""Who may do what (promotions.release.permissions): the decision alone, on the demo's configuration with rules
of each test's own."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from promotions.config import Verb
from promotions.release.permissions import Identity, Rules, SlackUserGroups, decide
from tests.release.callers import configured

ENVIRONMENTS = ("qa", "staging", "prod")
DEPLOYER_ROLE = "arn:aws:sts::111122223333:assumed-role/Deployer"


def iam(arn: str) -> Identity:
    return Identity(actor=arn, iam_principal=arn)


def test_an_iam_wildcard_lets_in_every_session_of_the_role_and_nobody_else():
    configuration = configured({"subjects": [{"iamPrincipal": f"{DEPLOYER_ROLE}/*"}], "verbs": ["promote"]})

    def may(arn: str) -> bool:
        return decide(configuration, iam(arn), Verb.PROMOTE, "guestbook", "qa").allowed

    assert may(f"{DEPLOYER_ROLE}/alice") and may(f"{DEPLOYER_ROLE}/bob@example.com")
    assert not may("arn:aws:sts::111122223333:assumed-role/Auditor/alice")
    assert not may("arn:aws:sts::444455556666:assumed-role/Deployer/alice")


def test_an_iam_principal_without_a_wildcard_is_that_principal_alone():
    arn = "arn:aws:iam::111122223333:user/alice"
    configuration = configured({"subjects": [{"iamPrincipal": arn}], "verbs": ["trigger"]})

    assert decide(configuration, iam(arn), Verb.TRIGGER, "guestbook", "prod").allowed
    assert not decide(configuration, iam(f"{arn}-admin"), Verb.TRIGGER, "guestbook", "prod").allowed


def test_a_jwt_group_rule_lets_in_the_tokens_that_carry_the_group():
    configuration = configured(
        {
            "subjects": [{"jwtGroup": "release-managers"}],
            "verbs": ["approve"],
            "environments": {"kinds": ["prod"]},
        }
    )
    manager = Identity(
        actor="ann@example.com", jwt_subject="sub-1", jwt_groups=frozenset({"release-managers"})
    )
    developer = Identity(actor="dev@example.com", jwt_subject="sub-2", jwt_groups=frozenset({"developers"}))

    decision = decide(configuration, manager, Verb.APPROVE, "guestbook", "prod")
    assert decision.allowed and decision.rule == "PromotionPermissions under-test rule 1"
    assert not decide(configuration, developer, Verb.APPROVE, "guestbook", "prod").allowed
    # The group's rule is about prod environments only.
    assert not decide(configuration, manager, Verb.APPROVE, "guestbook", "qa").allowed


def test_a_refusal_names_the_rule_that_is_missing():
    configuration = configured(
        {
            "subjects": [{"tokenHolder": "ci"}],
            "verbs": ["trigger", "promote"],
            "products": ["guestbook"],
            "environments": {"kinds": ["non-prod"]},
        }
    )
    holder = Identity(actor="ci", token_holder="ci")

    assert decide(configuration, holder, Verb.PROMOTE, "guestbook", "qa").allowed
    refusal = decide(configuration, holder, Verb.PROMOTE, "guestbook", "prod")
    assert not refusal.allowed
    assert refusal.rule == (
        "no PromotionPermissions rule lets tokenHolder ci promote guestbook in prod (prod): a rule with verb "
        "promote, product guestbook, environment prod and that subject is missing"
    )
    assert not decide(configuration, holder, Verb.ROLLBACK, "guestbook", "qa").allowed


def test_a_slack_group_rule_asks_slack_who_is_in_the_group():
    configuration = configured({"subjects": [{"slackGroup": "S0OPS"}], "verbs": ["approve"]})
    groups = {"S0OPS": frozenset({"U0CAROL"})}

    def members(group: str) -> frozenset[str]:
        if group not in groups:
            raise LookupError(group)
        return groups[group]

    def clicker(user: str) -> Identity:
        return Identity(actor=user, slack_user=user, slack_groups=SlackUserGroups(user, members))

    assert decide(configuration, clicker("U0CAROL"), Verb.APPROVE, "guestbook", "prod").allowed
    assert not decide(configuration, clicker("U0MALLORY"), Verb.APPROVE, "guestbook", "prod").allowed
    del groups["S0OPS"]  # a group deleted since the rule named it lets nobody in
    assert not decide(configuration, clicker("U0CAROL"), Verb.APPROVE, "guestbook", "prod").allowed


def test_what_a_caller_may_do_per_environment_and_everywhere():
    configuration = configured(
        {"subjects": [{"tokenHolder": "ci"}], "verbs": ["trigger", "retry"]},
        {"subjects": [{"tokenHolder": "ci"}], "verbs": ["promote"], "environments": {"names": ["qa"]}},
    )

    allowed = Rules(configuration).allowed(Identity(actor="ci", token_holder="ci"), "guestbook")

    assert allowed.environments == {
        "qa": [Verb.TRIGGER, Verb.PROMOTE, Verb.RETRY],
        "staging": [Verb.TRIGGER, Verb.RETRY],
        "prod": [Verb.TRIGGER, Verb.RETRY],
    }
    assert allowed.product == [Verb.TRIGGER, Verb.RETRY]
    nobody = Rules(configuration).allowed(Identity(actor="x", token_holder="x"), "guestbook")
    assert nobody.product == [] and set(map(tuple, nobody.environments.values())) == {()}


# A rule that misses the request on purpose, in one of the four ways a rule can miss.
CALLER = Identity(
    actor="alice",
    iam_principal=f"{DEPLOYER_ROLE}/alice",
    jwt_subject="alice-sub",
    jwt_groups=frozenset({"developers"}),
    token_holder="alice",
    slack_user="U0ALICE",
)
OTHERS = st.sampled_from(
    [
        {"iamPrincipal": f"{DEPLOYER_ROLE}/bob"},
        {"iamPrincipal": "arn:aws:sts::111122223333:assumed-role/Auditor/*"},
        {"jwtSubject": "bob-sub"},
        {"jwtGroup": "release-managers"},
        {"tokenHolder": "bob"},
        {"slackUser": "U0BOB"},
        {"slackGroup": "S0OPS"},
    ]
)
MATCHING = st.sampled_from(
    [
        {"iamPrincipal": f"{DEPLOYER_ROLE}/*"},
        {"jwtSubject": "alice-sub"},
        {"jwtGroup": "developers"},
        {"tokenHolder": "alice"},
        {"slackUser": "U0ALICE"},
    ]
)
ASKED = st.tuples(st.sampled_from(list(Verb)), st.sampled_from(ENVIRONMENTS))


@st.composite
def missing_rule(draw: st.DrawFn, verb: Verb, environment: str) -> dict:
    rule: dict = {
        "subjects": draw(st.lists(st.one_of(OTHERS, MATCHING), min_size=1, max_size=3)),
        "verbs": draw(st.lists(st.sampled_from(list(Verb)), min_size=1, max_size=3)),
    }
    if draw(st.booleans()):
        rule["environments"] = {
            "names": draw(st.lists(st.sampled_from(ENVIRONMENTS), min_size=1, max_size=2))
        }
    missed = draw(st.sampled_from(["subjects", "verbs", "products", "environments"]))
    if missed == "subjects":
        rule["subjects"] = draw(st.lists(OTHERS, min_size=1, max_size=3))
    elif missed == "verbs":
        rule["verbs"] = [other for other in Verb if other != verb]
    elif missed == "products":
        rule["products"] = ["guestbook-archive"]
    else:
        others = [name for name in ENVIRONMENTS if name != environment]
        kinds = ["non-prod"] if environment == "prod" else ["prod"]
        rule["environments"] = {"names": others[: draw(st.integers(0, 2))], "kinds": kinds}
    return rule


@settings(max_examples=100, deadline=None)
@given(data=st.data(), asked=ASKED)
def test_rules_none_of_which_matches_never_allow_and_one_that_does_allows(data, asked):
    verb, environment = asked
    rules = data.draw(st.lists(missing_rule(verb, environment), max_size=4))
    refusal = decide(configured(*rules), CALLER, verb, "guestbook", environment)
    assert not refusal.allowed
    assert f" {verb.value} guestbook in {environment} " in refusal.rule

    granting = {"subjects": [data.draw(MATCHING)], "verbs": [verb.value]}
    assert decide(configured(*rules, granting), CALLER, verb, "guestbook", environment).allowed
