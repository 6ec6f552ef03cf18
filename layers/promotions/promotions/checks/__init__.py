"""Checks: the gates and hooks of a promotion (PromotionPolicy preAction/postAction, PromotionFlow hooks).

A PromotionCheck names one kind (promotions.checks.registry); evaluate_checks runs a phase's checks step by
step for the state machine, which does every waiting and every long-running job itself.
"""

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
