"""Read a configuration folder (or Git tree) and report everything wrong with it at once."""

from __future__ import annotations

import difflib
import errno
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from promotions.checks import PromotionCheck, hook_kinds
from promotions.config.configuration import Configuration
from promotions.config.documents import Location, SourceDocument, read_documents
from promotions.config.errors import ConfigError, ConfigProblem, PolicyError, TemplateError
from promotions.config.models import (
    PRODUCT_KEY,
    Application,
    CheckNames,
    Environment,
    GitRepository,
    Hooks,
    PolicySettings,
    Product,
    PromotionConcurrency,
    PromotionFlow,
    PromotionNotifications,
    PromotionPermissions,
    PromotionPolicy,
    PromotionTemplateDocument,
    check_names,
)
from promotions.config.schema import ignored_fields, known_keys, unknown_keys

YAML_SUFFIXES = (".yaml", ".yml")


# The kinds of document the configuration holds; each has the `name` of its metadata.
_Entity = (
    Product
    | PromotionTemplateDocument
    | PromotionPolicy
    | PromotionFlow
    | Environment
    | Application
    | PromotionCheck
    | GitRepository
    | PromotionConcurrency
    | PromotionNotifications
    | PromotionPermissions
)


@dataclass(frozen=True)
class _Kind:
    model: type[_Entity]
    api_versions: frozenset[str]

    @property
    def group(self) -> str:
        return next(iter(self.api_versions)).partition("/")[0]


_KINDS: Mapping[str, _Kind] = {
    "Product": _Kind(Product, frozenset({"codefresh.io/v1beta1", "codefresh.io/v1beta2"})),
    "PromotionTemplate": _Kind(PromotionTemplateDocument, frozenset({"codefresh.io/v1beta1"})),
    "PromotionPolicy": _Kind(PromotionPolicy, frozenset({"codefresh.io/v1beta1"})),
    "PromotionFlow": _Kind(PromotionFlow, frozenset({"codefresh.io/v1beta1"})),
    "Environment": _Kind(Environment, frozenset({"promotions.dev/v1alpha1"})),
    "Application": _Kind(Application, frozenset({"argoproj.io/v1alpha1"})),
    "PromotionCheck": _Kind(PromotionCheck, frozenset({"promotions.dev/v1alpha1"})),
    "GitRepository": _Kind(GitRepository, frozenset({"promotions.dev/v1alpha1"})),
    "PromotionConcurrency": _Kind(PromotionConcurrency, frozenset({"promotions.dev/v1alpha1"})),
    "PromotionNotifications": _Kind(PromotionNotifications, frozenset({"promotions.dev/v1alpha1"})),
    "PromotionPermissions": _Kind(PromotionPermissions, frozenset({"promotions.dev/v1alpha1"})),
}
# Every kind in our own group must be known; other groups hold kinds we simply do not read.
_OWN_GROUP = "promotions.dev"
# What chose the model; the model validates the rest of the document.
_ENVELOPE = frozenset({"apiVersion", "kind"})


def load_configuration_dir(root: Path) -> Configuration:
    """Load every *.yaml / *.yml below `root`, skipping hidden files and folders (.git, .github, ...)."""
    if not root.exists():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(root))
    if not root.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(root))
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.suffix in YAML_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    }
    return load_configuration(files)


def load_configuration(files: Mapping[str, bytes]) -> Configuration:
    """Load a configuration from posix relative paths to file contents; files not named *.yaml / *.yml are
    ignored, as are documents of kinds we do not read. Raises ConfigError listing every problem found. Warnings
    (fields accepted but ignored) are the configuration's `warnings`, or the ConfigError's."""
    loading = _Loading()
    all_readable = True
    for file in sorted(files):
        if file.endswith(YAML_SUFFIXES):
            documents, problems = read_documents(file, files[file])
            loading.problems.extend(problems)
            all_readable = all_readable and not problems
            for document in documents:
                loading.add(document)
    loading.check_flow_shapes()
    loading.check_git_repositories()
    # What a document names may be defined in a file that could not be read: no guessing then.
    if all_readable:
        loading.check_references()
    configuration = loading.configuration()
    # Checks across the whole configuration would only restate earlier problems in other words.
    if not loading.problems:
        loading.check_products(configuration)
    if loading.problems:
        raise ConfigError(loading.problems, loading.warnings)
    return configuration


@dataclass
class _Loaded:
    entity: Any
    document: SourceDocument


@dataclass
class _Loading:
    problems: list[ConfigProblem] = field(default_factory=list)
    warnings: list[ConfigProblem] = field(default_factory=list)
    loaded: dict[str, dict[str, _Loaded]] = field(default_factory=lambda: defaultdict(dict))
    # Names whose documents failed validation: references to them are not reported a second time as unknown.
    broken: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    application_environments: dict[str, str] = field(default_factory=dict)

    def report(self, document: SourceDocument, location: Location, message: str) -> None:
        self.problems.append(ConfigProblem(document.file, document.line_of(location), message))

    def add(self, document: SourceDocument) -> None:
        kind = self._kind_of(document)
        if kind is None or (kind == "Application" and not self._is_product_application(document)):
            return
        name = document.value("metadata", "name")
        subject = _subject(kind, document)
        model = _KINDS[kind].model
        content = {key: value for key, value in document.content.items() if key not in _ENVELOPE}
        details = [{"type": "extra_forbidden", "loc": location} for location in unknown_keys(model, content)]
        try:
            entity = model.model_validate(content)
        except ValidationError as error:
            details.extend(_root_causes(error))
        if details:
            if isinstance(name, str):
                self.broken[kind].add(name)
            for detail in _unless_misspelt(details, model):
                self.report(document, detail["loc"], f"{subject}: {_describe(detail, model)}")
            return
        for location, reason in ignored_fields(entity):
            self.warnings.append(
                ConfigProblem(
                    document.file,
                    document.line_of(location),
                    f"{subject}: {_path(location)} is ignored: {reason}",
                )
            )
        first = self.loaded[kind].get(entity.name)
        if first is not None:
            self.report(
                document,
                ("metadata", "name"),
                f"{subject} is defined twice (first at {first.document.file}:"
                f"{first.document.line_of(('metadata', 'name'))})",
            )
            return
        self.loaded[kind][entity.name] = _Loaded(entity, document)

    def _kind_of(self, document: SourceDocument) -> str | None:
        api_version, kind = document.value("apiVersion"), document.value("kind")
        if not (isinstance(api_version, str) and isinstance(kind, str)):
            return None
        group = api_version.partition("/")[0]
        known = _KINDS.get(kind)
        if known is not None and known.group == group:
            if api_version in known.api_versions:
                return kind
            supported = ", ".join(sorted(known.api_versions))
            self.report(
                document,
                ("apiVersion",),
                f"{_subject(kind, document)}: apiVersion {api_version} is not supported ({supported})",
            )
        elif group == _OWN_GROUP:
            self.report(document, ("kind",), f"unknown kind {kind} for apiVersion {api_version}")
        return None

    def _is_product_application(self, document: SourceDocument) -> bool:
        """Applications of no product are none of our business; those of a product must be ones we can read."""
        annotation = document.value("metadata", "annotations", PRODUCT_KEY)
        label = document.value("metadata", "labels", PRODUCT_KEY)
        if annotation is None and label is None:
            return False
        subject = _subject("Application", document)
        if annotation is not None and label is not None and annotation != label:
            self.report(
                document,
                ("metadata", "labels", PRODUCT_KEY),
                f"{subject}: label {PRODUCT_KEY}={label} contradicts its annotation {PRODUCT_KEY}={annotation}",
            )
            return False
        if document.value("spec", "sources") is not None and document.value("spec", "source") is None:
            self.report(
                document,
                ("spec", "sources"),
                f"{subject}: multi-source Applications (spec.sources) are not supported: use spec.source",
            )
            return False
        return True

    def _entities(self, kind: str) -> Iterable[tuple[Any, SourceDocument]]:
        return ((loaded.entity, loaded.document) for loaded in self.loaded[kind].values())

    def _is_unknown(self, kind: str, name: str) -> bool:
        return name not in self.loaded[kind] and name not in self.broken[kind]

    def check_flow_shapes(self) -> None:
        """What a flow gets wrong on its own, whatever else is defined."""
        for flow, document in self._entities("PromotionFlow"):
            subject = f"PromotionFlow {flow.name}"
            seen: set[str] = set()
            for index, step in enumerate(flow.steps):
                location = ("spec", "steps", index, "environment")
                if step.environment == flow.trigger_environment:
                    self.report(
                        document, location, f"{subject}: step {step.environment} is the trigger environment"
                    )
                elif step.environment in seen:
                    self.report(
                        document, location, f"{subject}: environment {step.environment} has two steps"
                    )
                seen.add(step.environment)
                for position, dependency in enumerate(step.depends_on):
                    if dependency not in flow.environments:
                        self.report(
                            document,
                            ("spec", "steps", index, "dependsOn", position),
                            f"{subject}: step {step.environment} depends on {dependency}, which is neither the "
                            "trigger environment nor a step of this flow",
                        )
            cycle = flow.dependency_cycle()
            if cycle is not None:
                index = next(index for index, step in enumerate(flow.steps) if step.environment == cycle[0])
                self.report(
                    document,
                    ("spec", "steps", index, "dependsOn"),
                    f"{subject}: dependsOn cycle {' -> '.join(cycle)}",
                )

    def check_git_repositories(self) -> None:
        """Two GitRepository documents for the same repositories would leave the choice to chance."""
        first_by_prefix: dict[str, tuple[GitRepository, SourceDocument]] = {}
        for repository, document in self._entities("GitRepository"):
            first = first_by_prefix.setdefault(repository.prefix, (repository, document))
            if first[0] is not repository:
                self.report(
                    document,
                    ("spec", "url"),
                    f"GitRepository {repository.name}: url {repository.spec.url} names the same repositories "
                    f"as GitRepository {first[0].name} ({first[1].file}:{first[1].line_of(('spec', 'url'))})",
                )

    def check_references(self) -> None:
        self._place_applications()
        self._check_flow_environments()
        self._check_product_references()
        self._check_concurrency_products()
        self._check_notification_products()
        self._check_permission_references()
        self._check_policy_selectors()
        self._check_check_references()
        self._check_check_environments()

    def _place_applications(self) -> None:
        environments = [environment for environment, _ in self._entities("Environment")]
        for app, document in self._entities("Application"):
            homes = [
                environment.name for environment in environments if environment.contains(app.destination)
            ]
            if len(homes) == 1:
                self.application_environments[app.name] = homes[0]
            elif len(homes) > 1:
                self.report(
                    document,
                    ("spec", "destination"),
                    f"Application {app.name}: destination ({app.destination}) "
                    f"is in more than one Environment: {', '.join(homes)}",
                )
            elif not self.broken["Environment"]:  # else it may well belong to the broken one
                self.report(
                    document,
                    ("spec", "destination"),
                    f"Application {app.name}: destination ({app.destination}) is in no Environment",
                )

    def _check_concurrency_products(self) -> None:
        for concurrency, document in self._entities("PromotionConcurrency"):
            if self._is_unknown("Product", concurrency.product):
                self.report(
                    document,
                    ("metadata", "name"),
                    f"PromotionConcurrency {concurrency.product}: it is named after the product it sets, and no "
                    f"Product {concurrency.product} is defined",
                )

    def _check_notification_products(self) -> None:
        for notifications, document in self._entities("PromotionNotifications"):
            if self._is_unknown("Product", notifications.product):
                self.report(
                    document,
                    ("metadata", "name"),
                    f"PromotionNotifications {notifications.product}: it is named after the product it tells of, "
                    f"and no Product {notifications.product} is defined",
                )

    def _check_permission_references(self) -> None:
        for permissions, document in self._entities("PromotionPermissions"):
            subject = f"PromotionPermissions {permissions.name}"
            for index, rule in enumerate(permissions.rules):
                where = ("spec", "rules", index)
                for position, product in enumerate(rule.products or ()):
                    if self._is_unknown("Product", product):
                        self.report(
                            document,
                            (*where, "products", position),
                            f"{subject}: rule {index + 1} names product {product}, which is not a defined Product",
                        )
                for position, environment in enumerate(rule.environments.names if rule.environments else ()):
                    if self._is_unknown("Environment", environment):
                        self.report(
                            document,
                            (*where, "environments", "names", position),
                            f"{subject}: rule {index + 1} names environment {environment}, which is not a "
                            "defined Environment",
                        )

    def _check_flow_environments(self) -> None:
        for flow, document in self._entities("PromotionFlow"):
            subject = f"PromotionFlow {flow.name}"
            if self._is_unknown("Environment", flow.trigger_environment):
                self.report(
                    document,
                    ("spec", "triggerEnvironment"),
                    f"{subject}: triggerEnvironment {flow.trigger_environment} is not a defined Environment",
                )
            for index, step in enumerate(flow.steps):
                if step.environment != flow.trigger_environment and self._is_unknown(
                    "Environment", step.environment
                ):
                    self.report(
                        document,
                        ("spec", "steps", index, "environment"),
                        f"{subject}: step {step.environment} is not a defined Environment",
                    )

    def _check_product_references(self) -> None:
        for product, document in self._entities("Product"):
            reference = product.promotion_template_ref
            if reference is not None and self._is_unknown("PromotionTemplate", reference):
                self.report(
                    document,
                    ("spec", "promotionTemplateRef"),
                    f"Product {product.name}: promotionTemplateRef {reference} is not a defined PromotionTemplate",
                )
            for index, flow_ref in enumerate(product.promotion_flows):
                if self._is_unknown("PromotionFlow", flow_ref.name):
                    self.report(
                        document,
                        ("spec", "promotionFlows", index, "name"),
                        f"Product {product.name}: promotion flow {flow_ref.name} is not a defined PromotionFlow",
                    )

    def _check_policy_selectors(self) -> None:
        for policy, document in self._entities("PromotionPolicy"):
            subject = f"PromotionPolicy {policy.name}"
            selector = policy.selector
            for index, name in enumerate(selector.product.names):
                if self._is_unknown("Product", name):
                    self.report(
                        document,
                        ("spec", "selector", "product", "names", index),
                        f"{subject}: selects product {name}, which is not a defined Product",
                    )
            for index, name in enumerate(selector.target_environment.names):
                if self._is_unknown("Environment", name):
                    self.report(
                        document,
                        ("spec", "selector", "targetEnvironment", "names", index),
                        f"{subject}: selects environment {name}, which is not a defined Environment",
                    )
            for part, key in (
                (selector.product, "product"),
                (selector.target_environment, "targetEnvironment"),
            ):
                if part.tags:
                    self.report(
                        document,
                        ("spec", "selector", key, "tags"),
                        f"{subject}: selector.{key}.tags is not supported: select by names"
                        + (" or types" if key == "targetEnvironment" else ""),
                    )

    def _check_check_references(self) -> None:
        """preAction, postAction and hooks name PromotionChecks. A configuration that defines none is written
        for Codefresh, whose names are Argo WorkflowTemplates: it loads as it is, and running one of those
        actions fails on the undefined check (Configuration.checks_named)."""
        if not (self.loaded["PromotionCheck"] or self.broken["PromotionCheck"]):
            return
        for policy, document in self._entities("PromotionPolicy"):
            self._check_actions(document, f"PromotionPolicy {policy.name}", policy.policy, ("spec", "policy"))
        for flow, document in self._entities("PromotionFlow"):
            subject = f"PromotionFlow {flow.name}"
            self._check_hooks(document, subject, flow.hooks, ("spec", "hooks"))
            for index, step in enumerate(flow.steps):
                step_subject = f"{subject} step {step.environment}"
                self._check_actions(document, step_subject, step.policy, ("spec", "steps", index, "policy"))
                self._check_hooks(document, step_subject, step.hooks, ("spec", "steps", index, "hooks"))

    def _check_actions(
        self, document: SourceDocument, subject: str, policy: PolicySettings, location: Location
    ) -> None:
        for key, names in (("preAction", policy.pre_action), ("postAction", policy.post_action)):
            self._check_named_checks(document, subject, key, names, (*location, key), hook=False)

    def _check_hooks(self, document: SourceDocument, subject: str, hooks: Hooks, location: Location) -> None:
        named = (("onStart", hooks.on_start), ("onSuccess", hooks.on_success), ("onFail", hooks.on_fail))
        for key, names in named:
            self._check_named_checks(document, subject, key, names, (*location, key), hook=True)

    def _check_named_checks(
        self,
        document: SourceDocument,
        subject: str,
        key: str,
        names: CheckNames | None,
        location: Location,
        *,
        hook: bool,
    ) -> None:
        for position, name in enumerate(check_names(names)):
            where = (*location, position) if isinstance(names, tuple) else location
            check = self.loaded["PromotionCheck"].get(name)
            if self._is_unknown("PromotionCheck", name):
                self.report(document, where, f"{subject}: {key} {name} is not a defined PromotionCheck")
            elif hook and check is not None and not check.entity.allowed_in_hooks:
                self.report(
                    document,
                    where,
                    f"{subject}: hook {key} runs PromotionCheck {name}, a {check.entity.kind} check; "
                    f"hooks run only {', '.join(hook_kinds())} checks",
                )

    def _check_check_environments(self) -> None:
        for check, document in self._entities("PromotionCheck"):
            for location, environment in check.config.environment_references():
                if self._is_unknown("Environment", environment):
                    self.report(
                        document,
                        ("spec", check.kind, *location),
                        f"PromotionCheck {check.name}: {check.kind} names environment {environment}, "
                        "which is not a defined Environment",
                    )

    def configuration(self) -> Configuration:
        def entities(kind: str) -> dict[str, Any]:
            return {name: loaded.entity for name, loaded in self.loaded[kind].items()}

        return Configuration(
            products=entities("Product"),
            templates=entities("PromotionTemplate"),
            policies=entities("PromotionPolicy"),
            flows=entities("PromotionFlow"),
            environments=entities("Environment"),
            applications=entities("Application"),
            application_environments=self.application_environments,
            checks=entities("PromotionCheck"),
            git_repositories=entities("GitRepository"),
            concurrency=entities("PromotionConcurrency"),
            notifications=entities("PromotionNotifications"),
            permissions=entities("PromotionPermissions"),
            warnings=self.warnings,
        )

    def check_products(self, configuration: Configuration) -> None:
        """What only the whole configuration can tell: every product can run each of its flows."""
        for product, document in self._entities("Product"):
            try:
                configuration.template_for(product.name)
            except TemplateError as error:
                self.report(document, ("metadata", "name"), str(error))
            for index, flow_ref in enumerate(product.promotion_flows):
                self._check_product_flow(
                    configuration,
                    product,
                    configuration.flows[flow_ref.name],
                    document,
                    ("spec", "promotionFlows", index, "name"),
                )

    def _check_product_flow(
        self,
        configuration: Configuration,
        product: Product,
        flow: PromotionFlow,
        document: SourceDocument,
        location: Location,
    ) -> None:
        for environment in flow.environments:
            if not configuration.applications_of(product.name, environment):
                self.report(
                    document,
                    location,
                    f"Product {product.name}: no Application in environment {environment}, which flow "
                    f"{flow.name} uses",
                )
        for step in flow.steps:
            try:
                configuration.policy_for(product.name, step.environment, flow.name)
            except PolicyError as error:
                self.report(document, location, str(error))


def _subject(kind: str, document: SourceDocument) -> str:
    name = document.value("metadata", "name")
    return f"{kind} {name}" if isinstance(name, str) and name else kind


def _root_causes(error: ValidationError) -> list[Any]:
    """The errors, less a list's "too short" when it is only short because its own items failed."""
    details = error.errors()
    return [
        detail
        for detail in details
        if not (
            detail["type"] == "too_short"
            and any(
                other["loc"][: len(detail["loc"])] == detail["loc"] and other is not detail
                for other in details
            )
        )
    ]


def _path(location: Location) -> str:
    """`spec.steps[0].dependsOn`, `spec.promotion['values.yaml']`: a location as the YAML is written."""
    path = "".join(
        f"[{part}]"
        if isinstance(part, int)
        else f".{part}"
        if isinstance(part, str) and part.isidentifier()
        else f"[{part!r}]"
        for part in location
    )
    return path.lstrip(".")


def _meant(location: Location, model: type[BaseModel]) -> str | None:
    """The known key an unknown one at `location` is most likely a misspelling of."""
    close = difflib.get_close_matches(str(location[-1]), known_keys(model, location[:-1]), n=1)
    return close[0] if close else None


def _unless_misspelt(details: list[Any], model: type[BaseModel]) -> list[Any]:
    """Less the required fields reported missing only because they are misspelt: the misspelling says it all."""
    meant = {
        (*detail["loc"][:-1], _meant(detail["loc"], model))
        for detail in details
        if detail["type"] == "extra_forbidden"
    }
    return [
        detail for detail in details if not (detail["type"] == "missing" and tuple(detail["loc"]) in meant)
    ]


def _describe(detail: Any, model: type[BaseModel]) -> str:
    location = tuple(detail["loc"])
    # pydantic reports a mapping key's own errors at (..., key, "[key]").
    path = _path(location[:-2]) + " key" if location[-1:] == ("[key]",) else _path(location)
    if detail["type"] == "missing":
        return f"{path} is required" if path else "required field missing"
    if detail["type"] == "extra_forbidden":
        meant = _meant(location, model)
        known = known_keys(model, location[:-1])
        hint = (
            f" (did you mean {meant}?)" if meant else f" (known: {', '.join(sorted(known))})" if known else ""
        )
        return f"{path} is not a known field{hint}"
    message = str(detail["ctx"]["error"]) if detail["type"] == "value_error" else detail["msg"]
    return f"{path}: {message}" if path else message
