"""A loaded, validated configuration and the questions the engine asks of it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from promotions.checks import PromotionCheck
from promotions.config.errors import ConfigProblem, NotDefinedError, PolicyError, TemplateError, in_order
from promotions.config.models import (
    Application,
    CheckNames,
    Environment,
    FlowStep,
    GitRepository,
    PolicyAction,
    PolicySettings,
    Product,
    PromotionConcurrency,
    PromotionFlow,
    PromotionNotifications,
    PromotionPermissions,
    PromotionPolicy,
    PromotionTemplate,
    check_names,
)
from promotions.push import GitPush
from promotions.repo_url import canonical_repo

if TYPE_CHECKING:
    from promotions.gitproviders.apis import ProviderChoice


class FlowTrigger(BaseModel):
    """A push starts `flow` for `product`: `application`, in the flow's trigger environment, received it."""

    model_config = ConfigDict(frozen=True)

    product: str
    flow: str
    trigger_environment: str
    application: Application


class EffectivePolicy(BaseModel):
    """The policy settings that govern one promotion; `sources` names who set each field: a PromotionPolicy
    name, or `flow:<flow>/step:<environment>` for a flow step's inline policy."""

    model_config = ConfigDict(frozen=True)

    action: PolicyAction
    pre_action: str | tuple[str, ...] | None = None
    post_action: str | tuple[str, ...] | None = None
    sources: dict[str, str]


def _by_name[Entity](entities: Mapping[str, Entity]) -> Mapping[str, Entity]:
    return MappingProxyType(dict(sorted(entities.items())))


class Configuration:
    """Immutable, so one instance is safely shared by concurrent handlers. Build it with load_configuration."""

    def __init__(
        self,
        *,
        products: Mapping[str, Product],
        templates: Mapping[str, PromotionTemplate],
        policies: Mapping[str, PromotionPolicy],
        flows: Mapping[str, PromotionFlow],
        environments: Mapping[str, Environment],
        applications: Mapping[str, Application],
        application_environments: Mapping[str, str],
        checks: Mapping[str, PromotionCheck] = MappingProxyType({}),
        git_repositories: Mapping[str, GitRepository] = MappingProxyType({}),
        concurrency: Mapping[str, PromotionConcurrency] = MappingProxyType({}),
        notifications: Mapping[str, PromotionNotifications] = MappingProxyType({}),
        permissions: Mapping[str, PromotionPermissions] = MappingProxyType({}),
        warnings: Iterable[ConfigProblem] = (),
    ) -> None:
        self._warnings = in_order(warnings)
        self._permissions = _by_name(permissions)
        self._concurrency = _by_name(concurrency)
        self._notifications = _by_name(notifications)
        self._products = _by_name(products)
        self._checks = _by_name(checks)
        self._git_repositories = _by_name(git_repositories)
        self._templates = _by_name(templates)
        self._policies = _by_name(policies)
        self._flows = _by_name(flows)
        self._environments = _by_name(environments)
        self._application_environments = MappingProxyType(dict(application_environments))
        # Only applications placed in exactly one environment take part.
        self._applications = _by_name(
            {name: app for name, app in applications.items() if name in application_environments}
        )
        placed: dict[tuple[str, str], list[Application]] = defaultdict(list)
        for app in self._applications.values():
            placed[(app.product, application_environments[app.name])].append(app)
        self._placed = MappingProxyType({key: tuple(apps) for key, apps in placed.items()})

    @property
    def warnings(self) -> tuple[ConfigProblem, ...]:
        """Fields set in the files that are accepted but ignored (see promotions.config.schema.Ignored)."""
        return self._warnings

    @property
    def products(self) -> Mapping[str, Product]:
        return self._products

    @property
    def templates(self) -> Mapping[str, PromotionTemplate]:
        return self._templates

    @property
    def policies(self) -> Mapping[str, PromotionPolicy]:
        return self._policies

    @property
    def flows(self) -> Mapping[str, PromotionFlow]:
        return self._flows

    @property
    def environments(self) -> Mapping[str, Environment]:
        return self._environments

    @property
    def applications(self) -> Mapping[str, Application]:
        return self._applications

    @property
    def checks(self) -> Mapping[str, PromotionCheck]:
        return self._checks

    @property
    def permissions(self) -> Mapping[str, PromotionPermissions]:
        """Who may do what: every PromotionPermissions document, by name."""
        return self._permissions

    @property
    def git_repositories(self) -> Mapping[str, GitRepository]:
        return self._git_repositories

    def git_repository_for(self, repo_url: str) -> GitRepository | None:
        """The GitRepository that covers `repo_url` most narrowly (a repository before its group before its
        host), or None when none does."""
        covering = [repo for repo in self._git_repositories.values() if repo.covers(repo_url)]
        return max(covering, key=lambda repo: len(repo.prefix), default=None)

    def provider_choice_for(self, repo_url: str) -> ProviderChoice:
        """Which pull request API serves `repo_url`: the covering GitRepository's provider and API URL, each
        left to the host's default when not set."""
        # Imported on first use: the Git host providers are about 10 ms of a cold start, and only pull requests
        # and commit statuses need them.
        from promotions.gitproviders.apis import ProviderChoice

        repository = self.git_repository_for(repo_url)
        if repository is None:
            return ProviderChoice()
        spec = repository.spec
        return ProviderChoice(
            provider=spec.provider.value if spec.provider else None,
            api_url=str(spec.api_url) if spec.api_url else None,
        )

    def checks_named(self, names: CheckNames | None) -> tuple[PromotionCheck, ...]:
        """The checks a preAction, postAction or hook names, in its order."""
        missing = [name for name in check_names(names) if name not in self._checks]
        if missing:
            raise NotDefinedError(f"PromotionCheck {', '.join(missing)} is not defined")
        return tuple(self._checks[name] for name in check_names(names))

    def triggered_flows(self, push: GitPush) -> list[FlowTrigger]:
        """At most one flow per product (products in name order): the first of the product's promotionFlows
        whose trigger environment holds an application the push changed and whose gitTriggerSelectors all
        match. Tag pushes and branch deletions trigger nothing."""
        if push.branch is None or push.deletes_ref:
            return []
        repo = canonical_repo(push.repo_url)
        triggers = []
        for product in self._products.values():
            for flow_ref in product.promotion_flows:
                flow = self._flows[flow_ref.name]
                changed = [
                    app
                    for app in self._placed.get((product.name, flow.trigger_environment), ())
                    if app.canonical_repo == repo
                    and app.tracks(push.branch, push.default_branch)
                    and app.watches(push.changed_paths)
                ]
                if changed and flow_ref.selects(push):
                    triggers.append(
                        FlowTrigger(
                            product=product.name,
                            flow=flow.name,
                            trigger_environment=flow.trigger_environment,
                            application=changed[0],
                        )
                    )
                    break
        return triggers

    def applications_of(self, product: str, environment: str) -> list[Application]:
        """The product's applications in the environment, by name."""
        self._product(product)
        self._environment(environment)
        return list(self._placed.get((product, environment), ()))

    def environment_of(self, application: Application | str) -> str:
        name = application if isinstance(application, str) else application.name
        if name not in self._application_environments:
            raise NotDefinedError(f"Application {name} is not a product application of this configuration")
        return self._application_environments[name]

    def concurrency_for(self, product: str) -> PromotionConcurrency:
        """The product's PromotionConcurrency; Codefresh's default (queue, at most 50 waiting) without one."""
        self._product(product)
        return self._concurrency.get(product) or PromotionConcurrency(product=product)

    def notifications_for(self, product: str) -> PromotionNotifications | None:
        """Where the product's releases are told, if anywhere."""
        self._product(product)
        return self._notifications.get(product)

    def template_for(self, product: str) -> PromotionTemplate:
        """The product's inline template, else its promotionTemplateRef, else the template with the lowest
        priority number (Codefresh ranks ascending; ties go to the first name) whose applicationSourceSelector
        matches all of the product's applications."""
        found = self._product(product)
        if found.promotion_template is not None:
            return PromotionTemplate(
                name=f"product:{found.name}",
                version_source=found.promotion_template.version_source,
                promotion=found.promotion_template.promotion,
            )
        if found.promotion_template_ref is not None:
            if found.promotion_template_ref not in self._templates:
                raise TemplateError(
                    f"Product {product}: promotionTemplateRef {found.promotion_template_ref} is not a defined "
                    "PromotionTemplate"
                )
            return self._templates[found.promotion_template_ref]
        apps = [app for app in self._applications.values() if app.product == product]
        candidates = [
            template
            for template in self._templates.values()
            if apps
            and template.application_source_selector is not None
            and all(template.application_source_selector.matches(app.selector_labels) for app in apps)
        ]
        if not candidates:
            raise TemplateError(
                f"no PromotionTemplate applies to Product {product}: it has neither spec.promotionTemplate nor "
                "spec.promotionTemplateRef, and no template's applicationSourceSelector matches all its Applications"
            )
        return min(candidates, key=lambda template: (template.priority, template.name))

    def flow_order(self, flow: str) -> list[FlowStep]:
        """The flow's steps (trigger environment excluded) in dependency order; among steps ready at the same
        time, the one declared first comes first."""
        return self._flow(flow).ordered_steps()

    def policy_for(self, product: str, environment: str, flow: str | None = None) -> EffectivePolicy:
        """Merge, field by field, the flow step's inline policy (when `flow` is given) over every PromotionPolicy
        that selects the product and environment, strongest first: lowest priority number, then name."""
        self._product(product)
        target = self._environment(environment)
        layers: list[tuple[PolicySettings, str]] = []
        if flow is not None:
            step = self._flow(flow).step(environment)
            if step is None:
                raise NotDefinedError(f"environment {environment} is not a step of PromotionFlow {flow}")
            layers.append((step.policy, f"flow:{flow}/step:{environment}"))
        matching = sorted(
            (policy for policy in self._policies.values() if policy.applies_to(product, target)),
            key=lambda policy: (policy.priority, policy.name),
        )
        layers.extend((policy.policy, policy.name) for policy in matching)
        values: dict[str, object] = {}
        sources: dict[str, str] = {}
        for settings, source in layers:
            for field in PolicySettings.model_fields:
                value = getattr(settings, field)
                if value is not None and field not in values:
                    values[field] = value
                    sources[field] = source
        if "action" not in values:
            consulted = ", ".join(source for _, source in layers) or "none"
            raise PolicyError(
                f"no promotion action for Product {product} in environment {environment}: nothing sets "
                f"policy.action (consulted: {consulted})"
            )
        return EffectivePolicy.model_validate({**values, "sources": sources})

    def _product(self, name: str) -> Product:
        if name not in self._products:
            raise NotDefinedError(f"Product {name} is not defined")
        return self._products[name]

    def _environment(self, name: str) -> Environment:
        if name not in self._environments:
            raise NotDefinedError(f"Environment {name} is not defined")
        return self._environments[name]

    def _flow(self, name: str) -> PromotionFlow:
        if name not in self._flows:
            raise NotDefinedError(f"PromotionFlow {name} is not defined")
        return self._flows[name]
