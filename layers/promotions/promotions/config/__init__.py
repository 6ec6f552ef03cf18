"""The promotion configuration: Codefresh's Product, PromotionTemplate, PromotionPolicy and PromotionFlow, our
Environment, and the Argo CD Applications that place products in environments.

Its names are imported from their modules when first used (promotions.lazy_exports): reading an error class
loads no models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from promotions.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from promotions.checks import PromotionCheck
    from promotions.config.configuration import Configuration, EffectivePolicy, FlowTrigger
    from promotions.config.errors import (
        ConfigError,
        ConfigProblem,
        NotDefinedError,
        PolicyError,
        TemplateError,
    )
    from promotions.config.loader import load_configuration, load_configuration_dir
    from promotions.config.models import (
        DEFAULT_PROMOTION_TIMEOUT,
        WHOLE_FILE,
        Application,
        ApplicationDestination,
        CheckNames,
        ConcurrencyPolicy,
        Environment,
        EnvironmentCluster,
        EnvironmentKind,
        EnvironmentType,
        FilePromotion,
        FlowStep,
        GitProvider,
        GitRepository,
        GitTriggerSelector,
        Hooks,
        LabelSelector,
        PermissionRule,
        PermissionSubject,
        PolicyAction,
        PolicySettings,
        Product,
        ProductFlow,
        PromotionConcurrency,
        PromotionFlow,
        PromotionPermissions,
        PromotionPolicy,
        PromotionTemplate,
        Verb,
        VersionSource,
        check_names,
    )
else:
    # Deferred for cold start: each name's module is imported when the name is first asked for.
    __getattr__ = lazy_exports(
        __name__,
        {
            "promotions.checks": ("PromotionCheck",),
            "promotions.config.configuration": ("Configuration", "EffectivePolicy", "FlowTrigger"),
            "promotions.config.errors": (
                "ConfigError",
                "ConfigProblem",
                "NotDefinedError",
                "PolicyError",
                "TemplateError",
            ),
            "promotions.config.loader": ("load_configuration", "load_configuration_dir"),
            "promotions.config.models": (
                "DEFAULT_PROMOTION_TIMEOUT",
                "WHOLE_FILE",
                "Application",
                "ApplicationDestination",
                "CheckNames",
                "ConcurrencyPolicy",
                "Environment",
                "EnvironmentCluster",
                "EnvironmentKind",
                "EnvironmentType",
                "FilePromotion",
                "FlowStep",
                "GitProvider",
                "GitRepository",
                "GitTriggerSelector",
                "Hooks",
                "LabelSelector",
                "PermissionRule",
                "PermissionSubject",
                "PolicyAction",
                "PolicySettings",
                "Product",
                "ProductFlow",
                "PromotionConcurrency",
                "PromotionFlow",
                "PromotionPermissions",
                "PromotionPolicy",
                "PromotionTemplate",
                "Verb",
                "VersionSource",
                "check_names",
            ),
        },
    )

__all__ = [
    "DEFAULT_PROMOTION_TIMEOUT",
    "WHOLE_FILE",
    "Application",
    "ApplicationDestination",
    "CheckNames",
    "ConcurrencyPolicy",
    "ConfigError",
    "ConfigProblem",
    "Configuration",
    "EffectivePolicy",
    "Environment",
    "EnvironmentCluster",
    "EnvironmentKind",
    "EnvironmentType",
    "FilePromotion",
    "FlowStep",
    "FlowTrigger",
    "GitProvider",
    "GitRepository",
    "GitTriggerSelector",
    "Hooks",
    "LabelSelector",
    "NotDefinedError",
    "PermissionRule",
    "PermissionSubject",
    "PolicyAction",
    "PolicyError",
    "PolicySettings",
    "Product",
    "ProductFlow",
    "PromotionCheck",
    "PromotionConcurrency",
    "PromotionFlow",
    "PromotionPermissions",
    "PromotionPolicy",
    "PromotionTemplate",
    "TemplateError",
    "Verb",
    "VersionSource",
    "check_names",
    "load_configuration",
    "load_configuration_dir",
]
