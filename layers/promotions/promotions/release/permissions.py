"""Who may do what: the configuration's PromotionPermissions rules, asked before every state-changing call
people make (trigger, promote, rollback, approve, retry, terminate), whether it came through the API, the CLI
or Slack. Without a rule that allows it, a call is refused and changes nothing; reading needs no rule, and
pushes from Git (which the Git host authenticated) are not asked about.

`decide` is the decision alone. `Authorization` also records it: a call on an existing release on that
release's audit trail; a call that would make a release, when refused, on its product's decision trail (an
allowed one goes on the new release's audit trail, written with the release). Every decision is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools import Logger

from promotions import clock
from promotions.release.errors import PermissionRefused
from promotions.release.model import AuditEntry, Release
from promotions.release.store import ReleaseStore
from promotions.verbs import Verb

# For types only, for cold start: a caller's identity (every API request, every Slack click) needs no
# configuration models until a rule is read.
if TYPE_CHECKING:
    from promotions.config import Configuration, PermissionRule, PermissionSubject

logger = Logger(child=True)


class SlackUserGroups(Container[str]):
    """The Slack user groups a user is in, asked of Slack (its cached user-group listing) one group at a time,
    only for the groups a rule names."""

    def __init__(self, user: str, members: Callable[[str], frozenset[str]]) -> None:
        self._user = user
        self._members = members

    def __contains__(self, group: object) -> bool:
        try:
            return isinstance(group, str) and self._user in self._members(group)
        except LookupError:
            # A group deleted since a rule named it lets nobody in.
            return False


@dataclass(frozen=True)
class Identity:
    """Who asks, as the edge that authenticated them knows them: what rules can match on, and `actor`, the
    name audit trails and logs give them."""

    actor: str
    # The name people read, where `actor` says more (a Slack user: `alice (U012AB3CD)`, named alice).
    name: str | None = None
    iam_principal: str | None = None
    jwt_subject: str | None = None
    jwt_groups: frozenset[str] = frozenset()
    token_holder: str | None = None
    slack_user: str | None = None
    slack_groups: Container[str] = field(default=frozenset(), compare=False)

    def __str__(self) -> str:
        return self.actor

    def matches(self, subject: PermissionSubject) -> bool:
        if subject.iam_principal is not None:
            return self.iam_principal is not None and _arn_matches(subject.iam_principal, self.iam_principal)
        if subject.jwt_subject is not None:
            return subject.jwt_subject == self.jwt_subject
        if subject.jwt_group is not None:
            return subject.jwt_group in self.jwt_groups
        if subject.token_holder is not None:
            return subject.token_holder == self.token_holder
        if subject.slack_user is not None:
            return subject.slack_user == self.slack_user
        return (
            self.slack_user is not None
            and subject.slack_group is not None
            and subject.slack_group in self.slack_groups
        )

    def subjects(self) -> list[str]:
        """The subjects a rule could name this caller by (its Slack groups aside: those are asked of Slack)."""
        named = [
            ("iamPrincipal", self.iam_principal),
            ("jwtSubject", self.jwt_subject),
            *(("jwtGroup", group) for group in sorted(self.jwt_groups)),
            ("tokenHolder", self.token_holder),
            ("slackUser", self.slack_user),
        ]
        return [f"{kind} {value}" for kind, value in named if value is not None]


def _arn_matches(pattern: str, arn: str) -> bool:
    return arn.startswith(pattern[:-1]) if pattern.endswith("*") else arn == pattern


@dataclass(frozen=True)
class Decision:
    """May `identity` use `verb` on `product` in `environment`? `rule` names the rule that allows it, or
    describes the one that is missing."""

    allowed: bool
    verb: Verb
    product: str
    environment: str
    rule: str

    @property
    def outcome(self) -> Literal["allowed", "refused"]:
        return "allowed" if self.allowed else "refused"


@dataclass(frozen=True)
class CallerPermissions:
    """What one caller may do to one product: `environments` maps each environment its flows promote to the
    verbs allowed there; `product` lists the verbs allowed in every one of them (a trigger of any flow, a
    retry or termination of any release)."""

    actor: str
    environments: dict[str, list[Verb]]
    product: list[Verb]


@dataclass(frozen=True)
class _NamedRule:
    document: str
    position: int
    rule: PermissionRule

    def __str__(self) -> str:
        return f"PromotionPermissions {self.document} rule {self.position}"


class Rules:
    """A configuration's rules, and what they let one caller do."""

    def __init__(self, configuration: Configuration) -> None:
        self._configuration = configuration
        self._rules = [
            _NamedRule(name, position, rule)
            for name, document in configuration.permissions.items()
            for position, rule in enumerate(document.rules, start=1)
        ]

    def decide(self, identity: Identity, verb: Verb, product: str, environment: str) -> Decision:
        for named in self._rules:
            if self._covers(named.rule, verb, product, environment) and any(
                identity.matches(subject) for subject in named.rule.subjects
            ):
                return Decision(True, verb, product, environment, str(named))
        return Decision(
            False, verb, product, environment, self._missing(identity, verb, product, environment)
        )

    def decide_all(
        self, identity: Identity, verb: Verb, product: str, environments: Iterable[str]
    ) -> list[Decision]:
        """One decision per environment; a refusal, if any, is the first that is refused."""
        return [self.decide(identity, verb, product, environment) for environment in environments]

    def allowed(self, identity: Identity, product: str) -> CallerPermissions:
        """What the caller may do to the product: per environment its flows promote, and product-wide."""
        environments = list(
            dict.fromkeys(
                step.environment
                for flow in self._configuration.products[product].promotion_flows
                for step in self._configuration.flow_order(flow.name)
            )
        )
        per_environment = {
            environment: [verb for verb in Verb if self.decide(identity, verb, product, environment).allowed]
            for environment in environments
        }
        everywhere = [
            verb for verb in Verb if environments and all(verb in verbs for verbs in per_environment.values())
        ]
        return CallerPermissions(identity.actor, per_environment, everywhere)

    def _covers(self, rule: PermissionRule, verb: Verb, product: str, environment: str) -> bool:
        if verb not in rule.verbs or (rule.products is not None and product not in rule.products):
            return False
        if rule.environments is None:
            return True
        known = self._configuration.environments.get(environment)
        return known is not None and rule.environments.selects(known)

    def _missing(self, identity: Identity, verb: Verb, product: str, environment: str) -> str:
        known = self._configuration.environments.get(environment)
        kind = f" ({known.kind.value})" if known is not None else ""
        who = " or ".join(identity.subjects()) or identity.actor
        return (
            f"no PromotionPermissions rule lets {who} {verb.value} {product} in {environment}{kind}: a rule "
            f"with verb {verb.value}, product {product}, environment {environment} and that subject is missing"
        )


def decide(
    configuration: Configuration, identity: Identity, verb: Verb, product: str, environment: str
) -> Decision:
    return Rules(configuration).decide(identity, verb, product, environment)


def first_refusal(decisions: Iterable[Decision]) -> Decision | None:
    return next((decision for decision in decisions if not decision.allowed), None)


class Authorization:
    """Asks the rules before a call people make, records the decision, and refuses by raising
    PermissionRefused."""

    def __init__(self, store: ReleaseStore) -> None:
        self._store = store

    def for_new_release(
        self,
        configuration: Configuration,
        identity: Identity,
        verb: Verb,
        product: str,
        environments: Iterable[str],
        detail: str,
    ) -> AuditEntry:
        """For a call that would make a release of `product` promoting `environments`: the audit entry the new
        release carries when every environment allows it; else the refusal goes on the product's decision
        trail and is raised."""
        decisions = Rules(configuration).decide_all(identity, verb, product, environments)
        refusal = first_refusal(decisions)
        entry = _entry(identity, verb, detail, refusal or _summary(decisions))
        _log(identity, refusal or _summary(decisions), release=None)
        if refusal is not None:
            self._store.record_decision(product, entry)
            raise PermissionRefused(refusal)
        return entry

    def on_release(
        self,
        configuration: Configuration,
        identity: Identity,
        verb: Verb,
        release: Release,
        environments: Iterable[str],
        detail: str,
        *,
        action: str | None = None,
    ) -> AuditEntry:
        """For a call on an existing release (acting on `environments` of it): the audit entry to record once
        the call is made; a refusal is recorded on the release's audit trail at once and raised."""
        decisions = Rules(configuration).decide_all(identity, verb, release.product, environments)
        refusal = first_refusal(decisions)
        entry = _entry(identity, verb, detail, refusal or _summary(decisions), action=action)
        _log(identity, refusal or _summary(decisions), release=release.id)
        if refusal is not None:
            self._store.record_audit(release.id, entry)
            raise PermissionRefused(refusal)
        return entry


def _summary(decisions: list[Decision]) -> Decision:
    """The allowed decisions of one call as one: its environments, and each rule that allowed it."""
    if not decisions:
        raise ValueError("a call acts on at least one environment")
    first = decisions[0]
    environments = ", ".join(decision.environment for decision in decisions)
    rules = ", ".join(dict.fromkeys(decision.rule for decision in decisions))
    return Decision(True, first.verb, first.product, environments, rules)


def _entry(
    identity: Identity, verb: Verb, detail: str, decision: Decision, *, action: str | None = None
) -> AuditEntry:
    return AuditEntry(
        at=clock.now(),
        actor=identity.actor,
        action=action or verb.value,
        detail=detail,
        outcome=decision.outcome,
        permission=decision.rule,
    )


def _log(identity: Identity, decision: Decision, *, release: str | None) -> None:
    logger.info(
        f"permission {decision.outcome}",
        extra={
            "actor": identity.actor,
            "verb": decision.verb.value,
            "product": decision.product,
            "environment": decision.environment,
            "rule": decision.rule,
            "release": release,
        },
    )
