import io
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from promotions.checks import ApplicationRef, CheckContext, CheckServices, PromotionCheck, SecretUnavailable
from promotions.http import HttpClient

# Monday 2025-03-24 10:00 UTC: a working day, a week before Europe's clocks go forward.
MONDAY = datetime(2025, 3, 24, 10, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = MONDAY) -> None:
        self.moment = now

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class MemorySecrets:
    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self.secrets = dict(secrets or {})

    def secret_string(self, secret_id: str) -> str:
        if secret_id not in self.secrets:
            raise SecretUnavailable(f"secret {secret_id} cannot be read (ResourceNotFoundException)")
        return self.secrets[secret_id]


class FakeLambda:
    """Lambda's invoke as boto3 returns it (moto runs functions only in Docker); `handler` answers calls."""

    def __init__(
        self, handler: Callable[[dict[str, Any]], Any] | None = None, *, function_error: bool = False
    ):
        self.handler = handler or (lambda event: {"result": "passed"})
        self.function_error = function_error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, *, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        event = json.loads(Payload)
        self.calls.append((FunctionName, event))
        response = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": io.BytesIO(json.dumps(self.handler(event)).encode()),
        }
        if self.function_error:
            response["FunctionError"] = "Unhandled"
        return response



@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def secrets() -> MemorySecrets:
    return MemorySecrets()


@pytest.fixture
def lambda_client() -> FakeLambda:
    return FakeLambda()


@pytest.fixture
def services(clock, secrets, lambda_client) -> CheckServices:
    return CheckServices(http=HttpClient(), secrets=secrets, lambda_client=lambda_client, now=clock)


@pytest.fixture
def context() -> CheckContext:
    return CheckContext(
        release_id="guestbook-4f2a9c1d7e3b-0a1b2c3d4e",
        product="guestbook",
        version="1.4.2",
        flow="standard",
        environment="prod",
        release_url="https://promotions.example/releases/guestbook-4f2a9c1d7e3b-0a1b2c3d4e",
        app=ApplicationRef(
            name="guestbook-prod",
            namespace="guestbook",
            repo_url="https://github.com/example/guestbook-deploy.git",
            branch="main",
            path="envs/prod",
        ),
        source_commit="2a6c97f6f5dc9166cc2e5d0d95415a386805ca07",
        source_repo_url="https://github.com/octokit-fixture-org/tmp-scenario-create-status-20220719043722592-yp32a",
    )


@pytest.fixture
def make_check() -> Callable[..., PromotionCheck]:
    """A PromotionCheck as its YAML document would give it: make_check("name", http={...}, timeout=5)."""

    def make(name: str = "gate", **spec: Any) -> PromotionCheck:
        return PromotionCheck.model_validate({"metadata": {"name": name}, "spec": spec})

    return make
