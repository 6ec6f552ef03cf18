"""Errors of the pull request adapters. Messages name the provider and repository, never the token."""

from __future__ import annotations


class PullRequestError(RuntimeError):
    """The provider answered something the engine cannot use."""


class PullRequestAuthError(PullRequestError):
    """401 or 403: the token is wrong, expired, or may not do this on the repository."""


class PullRequestNotFound(PullRequestError):
    """404: no such repository or pull request (providers also answer 404 for a private repository the token
    cannot see)."""


class PullRequestRejected(PullRequestError):
    """The provider refused the request (422, 409, 400...); the message carries the provider's reason."""


class PullRequestConfigError(ValueError):
    """A repository URL or provider setting from which no provider API can be chosen."""
