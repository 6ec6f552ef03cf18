"""The Git engine: read revisions into memory and commit edits to branches over smart HTTP, with dulwich
alone.

No git binary and no subprocess: the Lambda runtime has neither. See `GitRemote`.
"""

from .errors import (
    GitAuthError,
    GitError,
    GitTransientError,
    PushRaceLost,
    PushRejected,
    RefNotFound,
    RepositoryNotFound,
)
from .history import History
from .models import Author, CommitOutcome, HttpCredentials
from .paths import checked_path
from .remote import Edits, GitRemote
from .signing import CommitSigner, SigningKeyError, SshCommitSigner
from .snapshot import Snapshot
from .trailers import trailers_of, with_trailers

__all__ = [
    "Author",
    "CommitOutcome",
    "CommitSigner",
    "Edits",
    "GitAuthError",
    "GitError",
    "GitRemote",
    "GitTransientError",
    "History",
    "HttpCredentials",
    "PushRaceLost",
    "PushRejected",
    "RefNotFound",
    "RepositoryNotFound",
    "SigningKeyError",
    "Snapshot",
    "SshCommitSigner",
    "checked_path",
    "trailers_of",
    "with_trailers",
]
