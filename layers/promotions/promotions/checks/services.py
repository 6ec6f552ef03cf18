"""What checks need from the outside world, passed in so tests can give them local servers and fakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from promotions import clock
from promotions.http import HttpRequester


class SecretUnavailable(LookupError):
    """A secret does not exist, cannot be read, or lacks the key asked for: retrying will not help."""

    def __str__(self) -> str:
        return str(self.args[0])


class SecretResolver(Protocol):
    def secret_string(self, secret_id: str) -> str:
        """The secret's text; raises SecretUnavailable when there is none to read."""
        ...


class LambdaInvoker(Protocol):
    """boto3 Lambda `invoke`: returns StatusCode, an optional FunctionError, and Payload (a stream)."""

    def invoke(self, *, FunctionName: str, Payload: bytes) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class CheckServices:
    """Each part is safe to share between threads (urllib3 pools and boto3 clients are)."""

    http: HttpRequester
    secrets: SecretResolver
    lambda_client: LambdaInvoker
    now: Callable[[], datetime] = clock.now
    # The secrets a check's configuration may name start with it (the stack's CheckResourcePrefix); the
    # engine's own reads (the Git credentials of pullRequestMerged) go to `secrets` directly.
    secret_prefix: str = ""
