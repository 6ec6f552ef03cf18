"""The configuration kinds, validated straight from their YAML documents.

Codefresh kinds keep Codefresh's field names and meanings, so existing files load unchanged. A key a kind does
not have is an error (a misspelt `selector` would otherwise make a policy global); the fields of Codefresh's
CRDs that we accept without acting on them are marked Ignored, and loading warns when they are set.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

import jsonpath_rfc9535
from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasPath,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PositiveInt,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from promotions.actions import PolicyAction
from promotions.checks.argocd_health import DEFAULT_TIMEOUT as DEFAULT_ARGOCD_TIMEOUT
from promotions.checks.argocd_health import ArgoCdConnection
from promotions.config.schema import Ignored
from promotions.push import GitPush
from promotions.repo_url import canonical_repo, refuse_userinfo
from promotions.verbs import Verb

PRODUCT_KEY = "codefresh.io/product"
IN_CLUSTER_NAME = "in-cluster"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
# Codefresh's default when a flow sets no promotionTimeoutLimit.
DEFAULT_PROMOTION_TIMEOUT = timedelta(hours=24)
# The longest promotionTimeoutLimit: a release's execution ends for good a day after it (the state machine's
# TimeoutSeconds), which leaves its onFail hooks the day.
MAX_PROMOTION_TIMEOUT = timedelta(days=30)
# Codefresh's default limit of the releases of one product waiting for the active one to end.
DEFAULT_QUEUE_LIMIT = 50
# Codefresh's wildcard for promoting a whole file (for files JSONPath cannot address).
WHOLE_FILE = "*"

Name = Annotated[str, StringConstraints(min_length=1)]


def _valid_json_path(expression: str) -> str:
    try:
        jsonpath_rfc9535.compile(expression)
    except jsonpath_rfc9535.JSONPathError as error:
        # Codefresh's own docs show `$appVersion`; RFC 9535 needs the dot.
        hint = f" (did you mean '$.{expression[1:]}'?)" if re.match(r"\$[A-Za-z_]", expression) else ""
        where = f" at character {error.token.index + 1}" if error.token is not None else ""
        raise ValueError(f"invalid JSONPath {expression!r}: {error.args[0]}{where}{hint}") from None
    return expression


def _valid_promoted_path(expression: str) -> str:
    return expression if expression == WHOLE_FILE else _valid_json_path(expression)


def _inside_the_application(path: str) -> str:
    """Template files are read and written relative to an application's folder, and must stay inside it."""
    segments = path.split("/")
    mistakes = (
        (not path, "an empty path"),
        (path.startswith("/"), "an absolute path leaves the application's folder"),
        ("\\" in path, "use '/' between folders, not '\\'"),
        ("" in segments, "an empty segment"),
        (".." in segments, "a '..' segment leaves the application's folder"),
        ("." in segments, "a '.' segment never matches a file: write the path without it"),
    )
    reason = next((reason for made, reason in mistakes if made), None)
    if reason is not None:
        raise ValueError(f"{path!r} is not a path inside the application: {reason}")
    return path


def _concurrency_lives_elsewhere(value: Any) -> None:
    if value is not None:
        raise ValueError(
            "concurrency is not a Product field: Codefresh keeps it in the product's settings. Write it as a "
            "PromotionConcurrency document (apiVersion: promotions.dev/v1alpha1, metadata.name: the product, "
            "spec.policy: queue or terminate) and remove it here"
        )


JsonPath = Annotated[str, AfterValidator(_valid_json_path)]
PromotedPath = Annotated[str, AfterValidator(_valid_promoted_path)]
# A file name or glob, relative to the application's folder.
ApplicationFile = Annotated[str, AfterValidator(_inside_the_application)]

_METADATA_NAME = AliasPath("metadata", "name")


def _spec(field: str) -> AliasPath:
    return AliasPath("spec", field)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


# --- Environments and Argo CD Applications ------------------------------------------------------------


class EnvironmentKind(StrEnum):
    PROD = "prod"
    NON_PROD = "non-prod"


class EnvironmentType(StrEnum):
    """Codefresh's spelling of an environment kind in policy selectors."""

    PROD = "PROD"
    NON_PROD = "NON_PROD"

    @property
    def kind(self) -> EnvironmentKind:
        return EnvironmentKind.PROD if self is EnvironmentType.PROD else EnvironmentKind.NON_PROD


def _cluster_identities(name: str | None, server: str | None) -> set[str]:
    """Every spelling of one cluster: Argo CD names its own cluster `in-cluster` or by its API server URL."""
    identities = set()
    if name:
        identities.add(f"name:{name}")
    if server:
        identities.add(f"server:{server.rstrip('/')}")
    if name == IN_CLUSTER_NAME or (server and server.rstrip("/") == IN_CLUSTER_SERVER):
        identities |= {f"name:{IN_CLUSTER_NAME}", f"server:{IN_CLUSTER_SERVER}"}
    return identities


class ApplicationDestination(_Model):
    name: str | None = None
    server: str | None = None
    namespace: str = ""

    @model_validator(mode="after")
    def _names_a_cluster(self) -> ApplicationDestination:
        if not (self.name or self.server):
            raise ValueError("destination needs a cluster name or server")
        return self

    def __str__(self) -> str:
        return f"cluster {self.name or self.server}, namespace {self.namespace or '(none)'}"


class EnvironmentCluster(_Model):
    name: str | None = None
    server: str | None = None
    namespaces: tuple[Name, ...] = ()

    @model_validator(mode="after")
    def _names_a_cluster(self) -> EnvironmentCluster:
        if not (self.name or self.server):
            raise ValueError("a cluster needs a name or a server")
        return self

    def contains(self, destination: ApplicationDestination) -> bool:
        """No namespaces means the whole cluster."""
        same_cluster = _cluster_identities(self.name, self.server) & _cluster_identities(
            destination.name, destination.server
        )
        return bool(same_cluster) and (not self.namespaces or destination.namespace in self.namespaces)


class ArgoCdVerification(ArgoCdConnection):
    """An Environment's `spec.verification.argocd` block: the argoCdHealth check's connection, and how many
    minutes the deployment may take."""

    timeout: PositiveInt = DEFAULT_ARGOCD_TIMEOUT


class EnvironmentVerification(_Model):
    """How an environment proves a promotion deployed: the engine appends the check this builds to the
    environment's post-action phase (promotions.release.builtin_checks.verification_check)."""

    argocd: ArgoCdVerification


def _verification_or_none(value: Any) -> Any:
    """`verification: none` says outright that nothing is verified, as a policy's `action: none` does."""
    if value == "none":
        return None
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(f"give `none` or an argocd block, not {value!r}")
    return value


class Environment(_Model):
    name: Name = Field(validation_alias=_METADATA_NAME)
    kind: EnvironmentKind = Field(validation_alias=_spec("kind"))
    clusters: tuple[EnvironmentCluster, ...] = Field(validation_alias=_spec("clusters"), min_length=1)
    # None: a promotion succeeds once its Git action and post-actions do.
    verification: Annotated[EnvironmentVerification | None, BeforeValidator(_verification_or_none)] = Field(
        None, validation_alias=_spec("verification")
    )

    def contains(self, destination: ApplicationDestination) -> bool:
        return any(cluster.contains(destination) for cluster in self.clusters)


class Application(_Model):
    """An Argo CD Application that belongs to a product (through its `codefresh.io/product` annotation or label)."""

    # Argo CD's schema, not ours, with many fields we do not read: only the parts modelled whole (destination)
    # reject unknown keys.
    model_config = ConfigDict(extra="ignore")

    name: Name = Field(validation_alias=_METADATA_NAME)
    # The Application resource's own namespace (Argo CD's appNamespace), not where it deploys to.
    namespace: Name | None = Field(None, validation_alias=AliasPath("metadata", "namespace"))
    product: Name = Field(
        validation_alias=AliasChoices(
            AliasPath("metadata", "annotations", PRODUCT_KEY), AliasPath("metadata", "labels", PRODUCT_KEY)
        )
    )
    labels: dict[str, str] = Field(default_factory=dict, validation_alias=AliasPath("metadata", "labels"))
    annotations: dict[str, str] = Field(
        default_factory=dict, validation_alias=AliasPath("metadata", "annotations")
    )
    destination: ApplicationDestination = Field(validation_alias=_spec("destination"))
    repo_url: Annotated[Name, AfterValidator(refuse_userinfo)] = Field(
        validation_alias=AliasPath("spec", "source", "repoURL")
    )
    path: str = Field("", validation_alias=AliasPath("spec", "source", "path"))
    target_revision: str = Field("", validation_alias=AliasPath("spec", "source", "targetRevision"))

    @property
    def canonical_repo(self) -> str:
        return canonical_repo(self.repo_url)

    @property
    def selector_labels(self) -> dict[str, str]:
        """What an applicationSourceSelector sees: Codefresh's examples select on annotations as on labels."""
        return {**self.annotations, **self.labels}

    def tracks(self, branch: str, default_branch: str | None) -> bool:
        """Whether the app deploys `branch`: HEAD or no targetRevision follows the repository's default branch."""
        revision = self.target_revision.removeprefix("refs/heads/")
        if revision in ("", "HEAD"):
            return default_branch is not None and branch == default_branch
        return revision == branch

    def watches(self, changed_paths: Collection[str]) -> bool:
        """Whether a push touching `changed_paths` changes this app; no paths means unknown, so it may."""
        root = posixpath.normpath(self.path.strip("/")) if self.path.strip("/") else "."
        if not changed_paths or root == ".":
            return True
        return any(path == root or path.startswith(f"{root}/") for path in changed_paths)


# --- Git repositories ------------------------------------------------------------------------------------


class GitProvider(StrEnum):
    """The Git hosts whose pull request APIs the `pr` action speaks (promotions.gitproviders)."""

    GITHUB = "github"
    GITLAB = "gitlab"
    BITBUCKET = "bitbucket"


def _repository_web_url(url: str) -> str:
    """The engine pushes over HTTPS, so the repositories a GitRepository covers are named that way (an
    Application's ssh or scp-like repoURL for the same repository still matches)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{url!r} is not an https://HOST[/PATH] URL")
    return url


class GitRepositorySpec(_Model):
    url: Annotated[Name, AfterValidator(_repository_web_url)]
    provider: GitProvider | None = None
    api_url: HttpUrl | None = None


class GitRepository(_Model):
    """How the `pr` action reaches the Git host of the repositories under `spec.url` (one repository, or a
    prefix of whole path segments: a host, a group): which provider's API (else chosen from the host:
    github.com, gitlab.com, bitbucket.org) and at which URL (else the host's default, see
    promotions.gitproviders.provider_for). The API token is the password the Git credentials secret holds
    for the repository's URL.

        apiVersion: promotions.dev/v1alpha1
        kind: GitRepository
        metadata: {name: github-enterprise}
        spec:
          url: https://github.example.com/
          provider: github
          apiUrl: https://github.example.com/api/v3
    """

    name: Name = Field(validation_alias=_METADATA_NAME)
    spec: GitRepositorySpec

    @property
    def prefix(self) -> str:
        """The repositories covered, spelled as canonical_repo spells them (`host[/path]`)."""
        return canonical_repo(self.spec.url).rstrip("/")

    def covers(self, repo_url: str) -> bool:
        repository = canonical_repo(repo_url)
        return repository == self.prefix or repository.startswith(f"{self.prefix}/")


# --- Promotion policies and flows -------------------------------------------------------------------------


# A PromotionCheck name, or a list of them run in order (Codefresh names one Argo WorkflowTemplate).
CheckNames = Name | Annotated[tuple[Name, ...], Field(min_length=1)]


def check_names(value: CheckNames | None) -> tuple[str, ...]:
    """A preAction, postAction or hook as the list of check names it runs."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


class PolicySettings(_Model):
    action: PolicyAction | None = None
    pre_action: CheckNames | None = None
    post_action: CheckNames | None = None


class Hooks(_Model):
    on_start: CheckNames | None = None
    on_success: CheckNames | None = None
    on_fail: CheckNames | None = None


class FlowStep(_Model):
    environment: Name
    # Codefresh's CRD requires at least one; depend on the trigger environment to start right after it.
    depends_on: tuple[Name, ...] = Field(min_length=1)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    hooks: Hooks = Field(default_factory=Hooks)


class PromotionFlow(_Model):
    name: Name = Field(validation_alias=_METADATA_NAME)
    trigger_environment: Name = Field(validation_alias=_spec("triggerEnvironment"))
    steps: tuple[FlowStep, ...] = Field(validation_alias=_spec("steps"), min_length=1)
    hooks: Hooks = Field(default_factory=Hooks, validation_alias=_spec("hooks"))
    promotion_timeout_limit: PositiveInt | None = Field(
        None,
        le=MAX_PROMOTION_TIMEOUT // timedelta(minutes=1),
        validation_alias=_spec("promotionTimeoutLimit"),
    )
    post_trigger: Annotated[str | None, Ignored("Codefresh deprecated it for hooks.onStart")] = Field(
        None, validation_alias=_spec("postTrigger")
    )

    @property
    def timeout(self) -> timedelta:
        """promotionTimeoutLimit is in minutes (Codefresh's Flow Timeout)."""
        if self.promotion_timeout_limit is None:
            return DEFAULT_PROMOTION_TIMEOUT
        return timedelta(minutes=self.promotion_timeout_limit)

    @property
    def environments(self) -> tuple[str, ...]:
        return (self.trigger_environment, *(step.environment for step in self.steps))

    def step(self, environment: str) -> FlowStep | None:
        return next((step for step in self.steps if step.environment == environment), None)

    def ordered_steps(self) -> list[FlowStep]:
        """Steps in dependency order; among steps ready together, the one declared first goes first."""
        ordered, blocked = self._topological_order()
        if blocked:
            raise ValueError(
                f"PromotionFlow {self.name}: dependsOn cycle {' -> '.join(self.dependency_cycle() or ())}"
            )
        return ordered

    def dependency_cycle(self) -> tuple[str, ...] | None:
        """One dependsOn cycle, first environment repeated at the end, or None."""
        _, blocked = self._topological_order()
        if not blocked:
            return None
        blocked_by_environment = {step.environment: step for step in blocked}
        # A blocked step always waits on another blocked step, so this walk must come back on itself.
        path = [blocked[0].environment]
        while True:
            waiting_on = next(
                dependency
                for dependency in blocked_by_environment[path[-1]].depends_on
                if dependency in blocked_by_environment
            )
            if waiting_on in path:
                return (*path[path.index(waiting_on) :], waiting_on)
            path.append(waiting_on)

    def _topological_order(self) -> tuple[list[FlowStep], list[FlowStep]]:
        in_flow = set(self.environments)
        done = {self.trigger_environment}
        ordered: list[FlowStep] = []
        pending = list(self.steps)
        while True:
            # dependsOn outside the flow is a configuration problem reported on its own; it blocks nothing here.
            ready = next(
                (
                    index
                    for index, step in enumerate(pending)
                    if all(dependency in done or dependency not in in_flow for dependency in step.depends_on)
                ),
                None,
            )
            if ready is None:
                return ordered, pending
            step = pending.pop(ready)
            ordered.append(step)
            done.add(step.environment)


class GitTriggerKey(StrEnum):
    COMMIT_MESSAGE = "commitMessage"
    GIT_REVISION = "gitRevision"


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"


@functools.lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """`*` spans anything, newlines and slashes included; everything else matches itself, case-sensitively."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


class GitTriggerSelector(_Model):
    model_config = ConfigDict(coerce_numbers_to_str=True)  # Codefresh documents numeric values too

    key: GitTriggerKey
    operator: SelectorOperator
    values: tuple[str, ...] = Field(min_length=1)

    def matches(self, push: GitPush) -> bool:
        """gitRevision is compared with the pushed commit's sha and with the branch name (Codefresh's docs use
        both: `a1b2c3d4` and `feature/*`); a value matches if it matches either."""
        if self.key is GitTriggerKey.COMMIT_MESSAGE:
            subjects = [push.commit_message]
        else:
            subjects = [subject for subject in (push.after, push.branch) if subject]
        matched = any(_wildcard(value).fullmatch(subject) for value in self.values for subject in subjects)
        return matched if self.operator is SelectorOperator.IN else not matched


class ProductFlow(_Model):
    name: Name
    git_trigger_selectors: tuple[GitTriggerSelector, ...] = ()

    def selects(self, push: GitPush) -> bool:
        return all(selector.matches(push) for selector in self.git_trigger_selectors)


class ProductSelector(_Model):
    names: tuple[Name, ...] = ()
    tags: tuple[str, ...] = ()


class TargetEnvironmentSelector(_Model):
    names: tuple[Name, ...] = ()
    types: tuple[EnvironmentType, ...] = ()
    tags: tuple[str, ...] = ()


class PolicySelector(_Model):
    product: ProductSelector = Field(default_factory=ProductSelector)
    target_environment: TargetEnvironmentSelector = Field(default_factory=TargetEnvironmentSelector)


class PromotionPolicy(_Model):
    name: Name = Field(validation_alias=_METADATA_NAME)
    # Ascending: the lowest number is the strongest.
    priority: int = Field(validation_alias=_spec("priority"))
    selector: PolicySelector = Field(default_factory=PolicySelector, validation_alias=_spec("selector"))
    policy: PolicySettings = Field(validation_alias=_spec("policy"))
    status: Annotated[Any, Ignored("the cluster writes it")] = None

    def applies_to(self, product: str, environment: Environment) -> bool:
        """Every selector part given must match; a part left out matches everything."""
        products = self.selector.product.names
        targets = self.selector.target_environment
        return (
            (not products or product in products)
            and (not targets.names or environment.name in targets.names)
            and (not targets.types or environment.kind in {type_.kind for type_ in targets.types})
        )


# --- Products and promotion templates --------------------------------------------------------------------


class FilePromotion(_Model):
    json_paths: tuple[PromotedPath, ...] = Field(min_length=1)


class VersionSource(_Model):
    file: ApplicationFile
    json_path: JsonPath


class InlinePromotionTemplate(_Model):
    version_source: VersionSource
    promotion: dict[ApplicationFile, FilePromotion] = Field(default_factory=dict)


class LabelSelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class LabelSelectorRequirement(_Model):
    key: Name
    operator: LabelSelectorOperator
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        needs_values = self.operator in (LabelSelectorOperator.IN, LabelSelectorOperator.NOT_IN)
        if needs_values and not self.values:
            raise ValueError(f"operator {self.operator} needs values")
        if not needs_values and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Kubernetes label-selector semantics."""
        match self.operator:
            case LabelSelectorOperator.IN:
                return labels.get(self.key) in self.values
            case LabelSelectorOperator.NOT_IN:
                return labels.get(self.key) not in self.values
            case LabelSelectorOperator.EXISTS:
                return self.key in labels
            case LabelSelectorOperator.DOES_NOT_EXIST:
                return self.key not in labels


class LabelSelector(_Model):
    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in self.match_labels.items()) and all(
            requirement.matches(labels) for requirement in self.match_expressions
        )


class PromotionTemplate(_Model):
    """Where a product's version is read and which properties are promoted.

    A product's inline template has neither priority nor applicationSourceSelector; a PromotionTemplate
    document must have both.
    """

    name: Name = Field(validation_alias=_METADATA_NAME)
    version_source: VersionSource = Field(validation_alias=_spec("versionSource"))
    # File name (or glob) -> properties to promote; empty means Codefresh's "promote all changes".
    promotion: dict[ApplicationFile, FilePromotion] = Field(
        default_factory=dict, validation_alias=_spec("promotion")
    )
    priority: int | None = Field(None, validation_alias=_spec("priority"))
    application_source_selector: LabelSelector | None = Field(
        None, validation_alias=_spec("applicationSourceSelector")
    )


class PromotionTemplateDocument(PromotionTemplate):
    priority: int = Field(validation_alias=_spec("priority"))
    application_source_selector: LabelSelector = Field(validation_alias=_spec("applicationSourceSelector"))


class Product(_Model):
    name: Name = Field(validation_alias=_METADATA_NAME)
    promotion_template_ref: Name | None = Field(None, validation_alias=_spec("promotionTemplateRef"))
    promotion_template: InlinePromotionTemplate | None = Field(
        None, validation_alias=_spec("promotionTemplate")
    )
    # Tried in order: the first flow the push touches and whose selectors all match runs.
    promotion_flows: tuple[ProductFlow, ...] = Field((), validation_alias=_spec("promotionFlows"))
    # Not a field of Codefresh's Product: said where it belongs rather than ignored, or refused as unknown.
    concurrency: Annotated[Any, AfterValidator(_concurrency_lives_elsewhere)] = Field(
        None, validation_alias=_spec("concurrency")
    )


# --- Promotion concurrency ---------------------------------------------------------------------------------


class ConcurrencyPolicy(StrEnum):
    """Codefresh's two policies for a release created while another of the product is active."""

    # The new release waits (Queued) and starts once no other release of the product is active.
    QUEUE = "queue"
    # The new release terminates the active one, then starts.
    TERMINATE = "terminate"


class PromotionConcurrencySpec(_Model):
    policy: ConcurrencyPolicy = ConcurrencyPolicy.QUEUE
    # Past this many waiting releases, the oldest waiting one is terminated.
    queue_limit: PositiveInt = DEFAULT_QUEUE_LIMIT


class PromotionConcurrency(_Model):
    """How releases of one product share it, Codefresh's "Promotion Concurrency" product setting (Codefresh
    keeps it in the product's settings, outside its CRDs). One per product, named after it; a product without
    one queues, at most 50 waiting.

        apiVersion: promotions.dev/v1alpha1
        kind: PromotionConcurrency
        metadata: {name: guestbook}
        spec:
          policy: terminate
    """

    product: Name = Field(validation_alias=_METADATA_NAME)
    spec: PromotionConcurrencySpec = Field(default_factory=PromotionConcurrencySpec)

    @property
    def name(self) -> str:
        return self.product


class SlackNotifications(_Model):
    # A channel's name (#releases) or id, which the Slack app must be a member of.
    channel: str = Field(min_length=1)


class PromotionNotificationsSpec(_Model):
    slack: SlackNotifications | None = None


class PromotionNotifications(_Model):
    """Where one product's releases are told as they move: one Slack message per release, updated in place
    with each environment's status (promotions.release.slack_releases). One per product, named after it.

        apiVersion: promotions.dev/v1alpha1
        kind: PromotionNotifications
        metadata: {name: guestbook}
        spec:
          slack: {channel: "#guestbook-releases"}
    """

    product: Name = Field(validation_alias=_METADATA_NAME)
    spec: PromotionNotificationsSpec = Field(default_factory=PromotionNotificationsSpec)

    @property
    def name(self) -> str:
        return self.product


# --- Who may do what ---------------------------------------------------------------------------------------


def _principal_arn(arn: str) -> str:
    if not arn.startswith("arn:"):
        raise ValueError(f"{arn!r} is not an ARN: an IAM principal is named by its ARN (arn:aws:...)")
    if "*" in arn[:-1]:
        raise ValueError(
            f"{arn!r}: '*' may only end the ARN, standing for any rest (an assumed role's sessions: "
            "arn:aws:sts::ACCOUNT:assumed-role/ROLE/*)"
        )
    return arn


class PermissionSubject(_Model):
    """Who a rule is for: exactly one of its fields."""

    # The ARN API Gateway gives for a SigV4 caller; ending in `*`, every ARN that begins with the rest.
    iam_principal: Annotated[str, AfterValidator(_principal_arn)] | None = None
    # A JWT's `sub` claim, and one of the groups of its `groups` or `cognito:groups` claim.
    jwt_subject: Name | None = None
    jwt_group: Name | None = None
    # Whom a Lambda authorizer's context names as `actor` (the local API's token holder).
    token_holder: Name | None = None
    # A Slack user ID, and a Slack user-group ID (its members, as Slack lists them).
    slack_user: Name | None = None
    slack_group: Name | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PermissionSubject:
        given = [key for key, value in self if value is not None]
        if len(given) != 1:
            keys = ", ".join(to_camel(key) for key in type(self).model_fields)
            raise ValueError(f"a subject is exactly one of {keys}; this one gives {len(given)}")
        return self

    @property
    def kind(self) -> str:
        return to_camel(next(key for key, value in self if value is not None))

    @property
    def value(self) -> str:
        return next(str(value) for _, value in self if value is not None)

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class PermissionEnvironments(_Model):
    """Environments by name or by kind; one that is either is selected."""

    names: tuple[Name, ...] = ()
    kinds: tuple[EnvironmentKind, ...] = ()

    @model_validator(mode="after")
    def _selects_some(self) -> PermissionEnvironments:
        if not self.names and not self.kinds:
            raise ValueError("give names or kinds (prod, non-prod); leave environments out for all of them")
        return self

    def selects(self, environment: Environment) -> bool:
        return environment.name in self.names or environment.kind in self.kinds


class PermissionRule(_Model):
    subjects: tuple[PermissionSubject, ...] = Field(min_length=1)
    verbs: tuple[Verb, ...] = Field(min_length=1)
    # Left out: every product, every environment.
    products: tuple[Name, ...] | None = Field(None, min_length=1)
    environments: PermissionEnvironments | None = None


class PromotionPermissions(_Model):
    """Who may do what (our own kind): rules, each letting its subjects use its verbs on its products in its
    environments. Any number of documents; their rules add up, and without a rule a state-changing call is
    refused.

        apiVersion: promotions.dev/v1alpha1
        kind: PromotionPermissions
        metadata: {name: release-managers}
        spec:
          rules:
            - subjects: [{iamPrincipal: "arn:aws:sts::111122223333:assumed-role/Deployer/*"}, {jwtGroup: ops}]
              verbs: [trigger, promote, retry]
              products: [guestbook]
              environments: {kinds: [non-prod]}
    """

    name: Name = Field(validation_alias=_METADATA_NAME)
    rules: tuple[PermissionRule, ...] = Field(validation_alias=_spec("rules"), min_length=1)
