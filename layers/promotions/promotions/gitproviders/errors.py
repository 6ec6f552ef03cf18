"""Errors of the Git host providers. Messages name the host, the repository and what was asked, never the
token."""

from __future__ import annotations


class GitProviderError(RuntimeError):
    """The host answered something the engine cannot use."""


class GitProviderAuthError(GitProviderError):
    """401 or 403: the token is wrong, expired, or may not do this on the repository."""


class GitProviderNotFound(GitProviderError):
    """404: no such repository, pull request or commit (hosts also answer 404 for a private repository the
    token cannot see)."""


class GitProviderRejected(GitProviderError):
    """The host refused the request (422, 409, 400...); the message carries the host's reason."""


class GitProviderConfigError(ValueError):
    """A repository URL or provider setting from which no host API can be chosen."""
