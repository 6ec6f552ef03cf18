"""What releases refuse, or cannot find: the errors the API answers with a status of their own.

They live apart from the modules that raise them, which load the configuration, the Git engine or the store:
the API registers an answer for each at import, and its cold start loads none of those modules for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promotions.release.permissions import Decision


class ReleaseNotFound(LookupError):
    pass


class UnknownPageToken(ValueError):
    """A `next` token this store did not hand out (or one of another listing)."""


class ApprovalNotFound(LookupError):
    """No approval by that reference, or none open for that environment."""


class ReleaseNotRetryable(RuntimeError):
    """Only a release that ended Failed or Terminated can run again."""


class ReleaseAlreadyFinal(RuntimeError):
    """Only a release that is queued or running can be terminated."""


class ProductNotFound(LookupError):
    """The configuration has no product of that name."""


class RequestRefused(ValueError):
    """The request names something that does not fit the configuration; the message says which field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class RetryAlreadyStarted(RuntimeError):
    """Another retry of the release started its execution first."""


class VersionNotFound(LookupError):
    """The flow's source commit lacks its versionSource file: it cannot become a release."""


class ApprovalRefused(PermissionError):
    """The approver may not decide this approval; nothing changed."""


class ApprovalClosed(RuntimeError):
    """The approval was decided already; nothing changed."""


class RollbackRefused(ValueError):
    """The rollback asked for cannot be made as asked; the message says what to change."""


class PermissionRefused(PermissionError):
    """No rule allows the call; it changed nothing. The message names the missing rule."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.rule)
        self.decision = decision
