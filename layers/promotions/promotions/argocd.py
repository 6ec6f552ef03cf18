"""Argo CD deploy verification: is each application of an environment Synced at the promoted revision,
Healthy?

The engine reads applications through the Argo CD API (`ArgoCdClient.application`) and judges them with
`verify`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from promotions.http import HttpError, HttpRequester, HttpResponse, redact


class SyncStatus(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatus(StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    SUSPENDED = "Suspended"
    MISSING = "Missing"
    UNKNOWN = "Unknown"


class OperationPhase(StrEnum):
    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"


class ArgoCdError(RuntimeError):
    """Argo CD answered what the engine cannot use; the message names the application, never the token."""


class ArgoCdAuthError(ArgoCdError):
    """401 or 403: the token is wrong, expired, or lacks `applications, get` on the application."""


class ArgoCdAppNotFound(ArgoCdError):
    """404: no application of that name in that namespace."""


class AppObservation(BaseModel):
    """One read of an application's status.

    `revisions` has one entry per source: single-source applications report `status.sync.revision`,
    multi-source ones `status.sync.revisions`. `operation_revisions` are the revisions the last sync operation
    was asked to apply, so a failed sync can be attributed to the promoted revision or to an older one.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    namespace: str | None = None
    sync_status: SyncStatus = SyncStatus.UNKNOWN
    health_status: HealthStatus = HealthStatus.UNKNOWN
    revisions: tuple[str, ...] = ()
    operation_phase: OperationPhase | None = None
    operation_revisions: tuple[str, ...] = ()
    reconciled_at: datetime | None = None
    message: str = ""

    def is_at(self, revision: str) -> bool:
        return _contains_revision(self.revisions, revision)


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Literal["verified", "pending", "failed"]
    summary: str


class ArgoCdClient:
    def __init__(self, server_url: str, token: str, http: HttpRequester) -> None:
        self._server_url = server_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = http

    def application(self, name: str, app_namespace: str | None = None) -> AppObservation:
        """One application; raises ArgoCdAuthError, ArgoCdAppNotFound, ArgoCdError or HttpTransientError."""
        query = f"?{urlencode({'appNamespace': app_namespace})}" if app_namespace else ""
        url = f"{self._server_url}/api/v1/applications/{quote(name, safe='')}{query}"
        described = f"Argo CD application {_qualified(name, app_namespace)} at {redact(self._server_url)}"
        response = self._http.request("GET", url, headers=self._headers)
        if response.status in (401, 403):
            raise ArgoCdAuthError(
                f"{described}: HTTP {response.status} {_argocd_message(response)}; the token is invalid or "
                "lacks 'applications, get' on it (Argo CD answers 403 for a missing application too)"
            )
        if response.status == 404:
            raise ArgoCdAppNotFound(f"{described}: not found ({_argocd_message(response)})")
        if not response.ok:
            raise ArgoCdError(f"{described}: HTTP {response.status} {_argocd_message(response)}")
        try:
            return _Application.model_validate(response.json()).observation()
        except (ValidationError, HttpError) as error:
            raise ArgoCdError(f"{described}: unexpected response: {_first_problem(error)}") from None


def verify(observations: Sequence[AppObservation], expected_revision: str) -> Verification:
    """Judge an environment's applications against the revision the promotion committed.

    Verified: every application is Synced at the revision, Healthy, and no sync operation is still running.
    Failed: the sync operation for the revision ended Failed or Error, or an application at the revision is
    Degraded or Missing. A Degraded application still at an older revision is pending: the promoted revision
    may be the fix, and a timeout ends the wait with `summary` as the reason.
    """
    if not observations:
        raise ValueError("verify: no Argo CD applications to verify")
    outcomes = {_outcome(observation, expected_revision) for observation in observations}
    summary = "; ".join(_describe(observation) for observation in observations)
    for outcome in ("failed", "pending"):
        if outcome in outcomes:
            return Verification(outcome=outcome, summary=summary)
    return Verification(outcome="verified", summary=summary)


def _outcome(observation: AppObservation, expected: str) -> Literal["verified", "pending", "failed"]:
    operation_ended_badly = observation.operation_phase in (OperationPhase.FAILED, OperationPhase.ERROR)
    if operation_ended_badly and _contains_revision(observation.operation_revisions, expected):
        return "failed"
    if not (observation.is_at(expected) and observation.sync_status is SyncStatus.SYNCED):
        return "pending"
    if observation.health_status in (HealthStatus.DEGRADED, HealthStatus.MISSING):
        return "failed"
    operation_running = observation.operation_phase in (OperationPhase.RUNNING, OperationPhase.TERMINATING)
    if observation.health_status is HealthStatus.HEALTHY and not operation_running:
        return "verified"
    return "pending"


def _describe(observation: AppObservation) -> str:
    revisions = ",".join(_short(revision) for revision in observation.revisions) or "no revision"
    text = f"{observation.name}: {observation.sync_status}/{observation.health_status} at {revisions}"
    details = [f"sync {observation.operation_phase}"] if observation.operation_phase else []
    if observation.message:
        details.append(observation.message)
    return f"{text} ({'; '.join(details)})" if details else text


_FULL_SHA = re.compile(r"^[0-9a-f]{40}$", re.IGNORECASE)


def _short(revision: str) -> str:
    return revision[:7] if _FULL_SHA.match(revision) else revision


def _contains_revision(revisions: Iterable[str], expected: str) -> bool:
    wanted = expected.strip().lower()
    return any(revision.lower() == wanted for revision in revisions)


def _qualified(name: str, namespace: str | None) -> str:
    return f"{namespace}/{name}" if namespace else name


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _argocd_message(response: HttpResponse) -> str:
    """Argo CD's error body is gRPC-gateway JSON: {"error", "code", "message"}."""
    try:
        document = response.json()
    except HttpError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("message") or document.get("error"), str):
        return _one_line(document.get("message") or document["error"])
    return _one_line(response.body[:200].decode(errors="replace"))


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        location = ".".join(str(part) for part in problem["loc"]) or "body"
        return f"{location}: {problem['msg']}"
    return str(error)


def _revisions(single: str | None, multiple: list[str] | None) -> tuple[str, ...]:
    if multiple:
        return tuple(multiple)
    return (single,) if single else ()


def _unknown_when_empty(value: Any) -> Any:
    # A freshly created application may report an empty status, or none.
    return value or "Unknown"


_ReportedSync = Annotated[SyncStatus, BeforeValidator(_unknown_when_empty)]
_ReportedHealth = Annotated[HealthStatus, BeforeValidator(_unknown_when_empty)]


# --- The Argo CD Application resource, as GET /api/v1/applications/{name} returns it (only what is read) ---


class _ArgoModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel)


class _Metadata(_ArgoModel):
    name: str
    namespace: str | None = None


class _Sync(_ArgoModel):
    status: _ReportedSync = SyncStatus.UNKNOWN
    revision: str | None = None
    revisions: list[str] | None = None


class _Health(_ArgoModel):
    status: _ReportedHealth = HealthStatus.UNKNOWN
    message: str | None = None


class _Revisions(_ArgoModel):
    revision: str | None = None
    revisions: list[str] | None = None


class _Operation(_ArgoModel):
    sync: _Revisions | None = None


class _OperationState(_ArgoModel):
    phase: OperationPhase | None = None
    message: str | None = None
    operation: _Operation | None = None
    sync_result: _Revisions | None = None

    def revisions(self) -> tuple[str, ...]:
        requested = self.operation.sync if self.operation and self.operation.sync else None
        for source in (requested, self.sync_result):
            if source and (found := _revisions(source.revision, source.revisions)):
                return found
        return ()


class _Condition(_ArgoModel):
    type: str
    message: str = ""


class _Status(_ArgoModel):
    sync: _Sync = Field(default_factory=_Sync)
    health: _Health = Field(default_factory=_Health)
    operation_state: _OperationState | None = None
    conditions: list[_Condition] = Field(default_factory=list)
    reconciled_at: datetime | None = None


class _Application(_ArgoModel):
    metadata: _Metadata
    status: _Status = Field(default_factory=_Status)

    def observation(self) -> AppObservation:
        status = self.status
        operation = status.operation_state
        messages = [status.health.message, operation.message if operation else None]
        messages += [f"{condition.type}: {condition.message}" for condition in status.conditions]
        return AppObservation(
            name=self.metadata.name,
            namespace=self.metadata.namespace,
            sync_status=status.sync.status,
            health_status=status.health.status,
            revisions=_revisions(status.sync.revision, status.sync.revisions),
            operation_phase=operation.phase if operation else None,
            operation_revisions=operation.revisions() if operation else (),
            reconciled_at=status.reconciled_at,
            message="; ".join(_one_line(message) for message in messages if message),
        )
