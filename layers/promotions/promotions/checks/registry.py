"""Every check kind, by the key that selects it in a PromotionCheck's spec, and the class that implements it. A
new kind is one module and one line here.

A kind's module is imported when a configuration first names the kind: some bring the Git engine, the Git host
APIs or a JSONPath engine with them, and a cold start pays only for the kinds its configuration uses.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promotions.checks.kind import CheckKind

CHECK_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "soakTime": "promotions.checks.soak_time.SoakTimeCheck",
        "window": "promotions.checks.window.WindowCheck",
        "commitStatus": "promotions.checks.commit_status.CommitStatusCheck",
        "http": "promotions.checks.http_check.HttpCheck",
        "lambda": "promotions.checks.lambda_check.LambdaCheck",
        "codebuild": "promotions.checks.codebuild.CodeBuildCheck",
        "stateMachine": "promotions.checks.state_machine.StateMachineCheck",
        "argoCdHealth": "promotions.checks.argocd_health.ArgoCdHealthCheck",
        "pullRequestMerged": "promotions.checks.pull_request_merged.PullRequestMergedCheck",
        "approval": "promotions.checks.approval.ApprovalCheck",
    }
)


@functools.cache
def check_kind(name: str) -> type[CheckKind]:
    """The class of the kind `name` (a key of CHECK_KINDS), its module imported on first use."""
    module, _, class_name = CHECK_KINDS[name].rpartition(".")
    return getattr(importlib.import_module(module), class_name)


def hook_kinds() -> list[str]:
    """The kinds hooks may run, sorted; this imports every kind's module, so it is for messages only."""
    return sorted(name for name in CHECK_KINDS if check_kind(name).allowed_in_hooks)
