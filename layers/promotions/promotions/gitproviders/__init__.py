"""One provider per Git host (GitHub, GitLab, Bitbucket Cloud) for everything the engine asks of it: the `pr`
promotion action's pull requests (open, reuse on retry, learn their fate) and commit statuses (read for the
commitStatus check, set to report a release on its commits)."""

from .errors import (
    GitProviderAuthError,
    GitProviderConfigError,
    GitProviderError,
    GitProviderNotFound,
    GitProviderRejected,
)
from .models import (
    CommitState,
    CommitStatus,
    CommitStatusUpdate,
    GitProvider,
    PullRequest,
    PullRequestState,
    PullRequestStatus,
    StatusKind,
)
from .selection import PROVIDERS, provider_for, provider_name_for

__all__ = [
    "PROVIDERS",
    "CommitState",
    "CommitStatus",
    "CommitStatusUpdate",
    "GitProvider",
    "GitProviderAuthError",
    "GitProviderConfigError",
    "GitProviderError",
    "GitProviderNotFound",
    "GitProviderRejected",
    "PullRequest",
    "PullRequestState",
    "PullRequestStatus",
    "StatusKind",
    "provider_for",
    "provider_name_for",
]
