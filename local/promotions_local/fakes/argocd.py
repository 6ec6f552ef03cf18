"""A fake Argo CD: the application endpoint, answering with states a test scripts or computes."""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from .server import Answer, FakeApi, RecordedRequest, Route, bearer_token, timestamp_now


class ArgoAppState(BaseModel):
    """One observed state of an application.

    One revision makes a single-source application (status.sync.revision), several a multi-source one
    (status.sync.revisions). No operation phase means no sync has run yet.
    """

    model_config = ConfigDict(frozen=True)

    sync_status: str = "Synced"
    health_status: str = "Healthy"
    revisions: tuple[str, ...]
    operation_phase: str | None = "Succeeded"
    operation_message: str = "successfully synced (all tasks run)"
    health_message: str | None = None
    conditions: tuple[tuple[str, str], ...] = ()


class FakeArgoCd(FakeApi):
    """GET /api/v1/applications/{name}[?appNamespace=], bearer token, Argo CD's gRPC-gateway error bodies.

    `set_application` scripts the states one application goes through: each read answers the next state and
    the last one stays, as an application does once it has settled.
    """

    CONTROL_PLANE_NAMESPACE = "argocd"

    def __init__(self, *, token: str, application_shape: Mapping[str, Any]) -> None:
        super().__init__(token, "")
        self._shape = copy.deepcopy(dict(application_shape))
        self._scripts: dict[tuple[str, str], deque[ArgoAppState]] = {}
        self._live: dict[tuple[str, str], Callable[[], ArgoAppState]] = {}

    def follow(
        self, name: str, observe: Callable[[], ArgoAppState], *, namespace: str = CONTROL_PLANE_NAMESPACE
    ) -> None:
        """Answer with a state computed at each read, as an auto-syncing Argo CD tracks its branch."""
        with self._lock:
            self._live[(namespace, name)] = observe

    def set_application(
        self, name: str, *states: ArgoAppState, namespace: str = CONTROL_PLANE_NAMESPACE
    ) -> None:
        if not states:
            raise ValueError(f"set_application({name!r}): give at least one state")
        with self._lock:
            self._scripts[(namespace, name)] = deque(states)

    def _routes(self) -> list[Route]:
        return [self._route("GET", r"/api/v1/applications/(?P<name>[^/]+)", self._get_application)]

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        return bearer_token(headers) == self._token

    def _unauthorized(self) -> Answer:
        return _argocd_error(401, 16, "invalid session: token signature is invalid")

    def _not_found(self, path: str) -> Answer:
        return _argocd_error(404, 5, f"Not Found: {path}")

    def _get_application(self, captured: dict[str, str], request: RecordedRequest) -> Answer:
        name = captured["name"]
        namespace = request.param("appNamespace") or self.CONTROL_PLANE_NAMESPACE
        live = self._live.get((namespace, name))
        if live is not None:
            return Answer(200, self._render(name, namespace, live()))
        script = self._scripts.get((namespace, name))
        if script is None:
            return _argocd_error(404, 5, f'applications.argoproj.io "{name}" not found')
        state = script.popleft() if len(script) > 1 else script[0]
        return Answer(200, self._render(name, namespace, state))

    def _render(self, name: str, namespace: str, state: ArgoAppState) -> dict[str, Any]:
        application = copy.deepcopy(self._shape)
        application["metadata"].update(name=name, namespace=namespace)
        status = application["status"]
        status["reconciledAt"] = timestamp_now()
        _set_revisions(status["sync"], state.revisions)
        status["sync"]["status"] = state.sync_status
        status["health"] = {"status": state.health_status}
        if state.health_message:
            status["health"]["message"] = state.health_message
        if len(state.revisions) > 1:
            application["spec"]["sources"] = [application["spec"].pop("source")] * len(state.revisions)
        if state.operation_phase is None:
            status.pop("operationState", None)
        else:
            operation = status["operationState"]
            operation.update(
                phase=state.operation_phase, message=state.operation_message, finishedAt=timestamp_now()
            )
            _set_revisions(operation["operation"]["sync"], state.revisions)
            _set_revisions(operation.setdefault("syncResult", {}), state.revisions)
        if state.conditions:
            status["conditions"] = [
                {"type": kind, "message": message, "lastTransitionTime": timestamp_now()}
                for kind, message in state.conditions
            ]
        else:
            status.pop("conditions", None)
        return application


def _set_revisions(holder: dict[str, Any], revisions: tuple[str, ...]) -> None:
    holder.pop("revision", None)
    holder.pop("revisions", None)
    if len(revisions) == 1:
        holder["revision"] = revisions[0]
    elif revisions:
        holder["revisions"] = list(revisions)


def _argocd_error(status: int, code: int, message: str) -> Answer:
    return Answer(status, {"error": message, "code": code, "message": message})
