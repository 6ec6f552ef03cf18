"""Every check kind, by the key that selects it in a PromotionCheck's spec. A new kind is one module and one
line here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from promotions.checks.approval import ApprovalCheck
from promotions.checks.argocd_health import ArgoCdHealthCheck
from promotions.checks.codebuild import CodeBuildCheck
from promotions.checks.commit_status import CommitStatusCheck
from promotions.checks.http_check import HttpCheck
from promotions.checks.kind import CheckKind
from promotions.checks.lambda_check import LambdaCheck
from promotions.checks.pull_request_merged import PullRequestMergedCheck
from promotions.checks.soak_time import SoakTimeCheck
from promotions.checks.state_machine import StateMachineCheck
from promotions.checks.window import WindowCheck

CHECK_KINDS: Mapping[str, type[CheckKind]] = MappingProxyType(
    {
        kind.kind: kind
        for kind in (
            SoakTimeCheck,
            WindowCheck,
            CommitStatusCheck,
            HttpCheck,
            LambdaCheck,
            CodeBuildCheck,
            StateMachineCheck,
            ArgoCdHealthCheck,
            PullRequestMergedCheck,
            ApprovalCheck,
        )
    }
)

HOOK_KINDS: frozenset[str] = frozenset(name for name, kind in CHECK_KINDS.items() if kind.allowed_in_hooks)
