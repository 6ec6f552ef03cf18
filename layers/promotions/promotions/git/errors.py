"""The Git engine's failures, as types: callers and the Step Functions Retry match on class names, never on
text.

Every message names the repository (credentials scrubbed) and, where one is involved, the ref.
"""

from __future__ import annotations

from promotions.errors import TransientError


class GitError(Exception):
    """A Git operation failed. Terminal unless it is also a TransientError (see GitTransientError)."""


class GitTransientError(GitError, TransientError):
    """The server could not be reached or failed on its side (network error, timeout, HTTP 408/429/5xx).

    Retrying later may succeed. A push that failed this way has an unknown outcome only if `commit` says so;
    `commit` itself re-reads the branch before retrying so that a push which did land is never applied twice.
    """


class PushRaceLost(GitTransientError):
    """Other writers moved the branch under every attempt of `commit`; nothing was pushed.

    A subclass of GitTransientError because a later retry, after the burst of writers, will most likely
    succeed.
    """


class PushRejected(GitError):
    """The server refused the ref update, and not because of a race (hook, branch protection, bad pack)."""


class RefNotFound(GitError):
    """The branch, ref or commit does not exist in the repository."""


class RepositoryNotFound(GitError):
    """No repository at that URL or path (HTTP 404; some hosts answer 404 to unauthenticated requests)."""


class GitAuthError(GitError):
    """The server refused the credentials, or requires some (HTTP 401, 403, 407)."""
