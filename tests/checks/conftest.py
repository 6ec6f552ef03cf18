import io
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Recorded], tuple[int, Any, dict[str, str]]]


class ApiServer:
    """A real HTTP server on loopback: routes answer by method and path (with its query, else without)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Answer | Responder] = {}
        self.requests: list[Recorded] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Recorded(self.command, self.path, dict(self.headers), self.rfile.read(length))
                server.requests.append(request)
                route = server.routes.get((self.command, self.path)) or server.routes.get(
                    (self.command, self.path.partition("?")[0])
                )
                if route is None:
                    answer = Answer(404, {"message": "Not Found"})
                else:
                    answer = Answer(*route(request)) if callable(route) else route
                payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def route(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.routes[(method, path)] = Answer(status, body, headers or {})

    def respond(self, method: str, path: str, responder: Responder) -> None:
        """`responder` answers each request with (status, body, headers)."""
        self.routes[(method, path)] = responder

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def api():
    server = ApiServer()
    yield server
    server.close()


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
