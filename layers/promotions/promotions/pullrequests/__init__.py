"""The `pr` promotion action's Git providers: open a pull request, reuse it on retry, learn its fate."""

from .errors import (
    PullRequestAuthError,
    PullRequestConfigError,
    PullRequestError,
    PullRequestEventError,
    PullRequestNotFound,
    PullRequestRejected,
)
from .models import PullRequest, PullRequestEvent, PullRequestProvider, PullRequestState, PullRequestStatus
from .selection import provider_for
from .webhooks import pull_request_event

__all__ = [
    "PullRequest",
    "PullRequestAuthError",
    "PullRequestConfigError",
    "PullRequestError",
    "PullRequestEvent",
    "PullRequestEventError",
    "PullRequestNotFound",
    "PullRequestProvider",
    "PullRequestRejected",
    "PullRequestState",
    "PullRequestStatus",
    "provider_for",
    "pull_request_event",
]
