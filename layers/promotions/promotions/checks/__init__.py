"""Checks: the gates and hooks of a promotion (PromotionPolicy preAction/postAction, PromotionFlow hooks).

A PromotionCheck names one kind (promotions.checks.registry); evaluate_checks runs a phase's checks step by
step for the state machine, which does every waiting and every long-running job itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promotions.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from promotions.checks.context import ApplicationRef, CheckContext, CommitRef
    from promotions.checks.definition import PromotionCheck
    from promotions.checks.evaluate import PhaseProgress, PhaseResult, ProgressMismatch, evaluate_checks
    from promotions.checks.kind import CheckKind, IntegrationCheck
    from promotions.checks.outcomes import CheckOutcome, Failed, Integration, Passed, Run, Wait
    from promotions.checks.registry import CHECK_KINDS, check_kind, hook_kinds
    from promotions.checks.services import (
        CheckServices,
        HttpRequester,
        LambdaInvoker,
        SecretResolver,
        SecretUnavailable,
    )
else:
    # Deferred for cold start: each name's module is imported when the name is first asked for.
    __getattr__ = lazy_exports(
        __name__,
        {
            "promotions.checks.context": ("ApplicationRef", "CheckContext", "CommitRef"),
            "promotions.checks.definition": ("PromotionCheck",),
            "promotions.checks.evaluate": (
                "PhaseProgress",
                "PhaseResult",
                "ProgressMismatch",
                "evaluate_checks",
            ),
            "promotions.checks.kind": ("CheckKind", "IntegrationCheck"),
            "promotions.checks.outcomes": ("CheckOutcome", "Failed", "Integration", "Passed", "Run", "Wait"),
            "promotions.checks.registry": ("CHECK_KINDS", "check_kind", "hook_kinds"),
            "promotions.checks.services": (
                "CheckServices",
                "HttpRequester",
                "LambdaInvoker",
                "SecretResolver",
                "SecretUnavailable",
            ),
        },
    )

__all__ = [
    "CHECK_KINDS",
    "ApplicationRef",
    "CheckContext",
    "CheckKind",
    "CheckOutcome",
    "CheckServices",
    "CommitRef",
    "Failed",
    "HttpRequester",
    "Integration",
    "IntegrationCheck",
    "LambdaInvoker",
    "Passed",
    "PhaseProgress",
    "PhaseResult",
    "ProgressMismatch",
    "PromotionCheck",
    "Run",
    "SecretResolver",
    "SecretUnavailable",
    "Wait",
    "check_kind",
    "evaluate_checks",
    "hook_kinds",
]
