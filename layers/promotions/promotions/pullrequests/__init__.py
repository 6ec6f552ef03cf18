"""The `pr` promotion action's Git providers: open a pull request, reuse it on retry, learn its fate."""

from .errors import (
    PullRequestAuthError,
    PullRequestConfigError,
    PullRequestError,
    PullRequestNotFound,
    PullRequestRejected,
)
from .models import PullRequest, PullRequestProvider, PullRequestState, PullRequestStatus
from .selection import provider_for

__all__ = [
    "PullRequest",
    "PullRequestAuthError",
    "PullRequestConfigError",
    "PullRequestError",
    "PullRequestNotFound",
    "PullRequestProvider",
    "PullRequestRejected",
    "PullRequestState",
    "PullRequestStatus",
    "provider_for",
]
