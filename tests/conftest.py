import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from promotions.release.store import ReleaseStore
from promotions_local.moto_seams import atomic_dynamodb_writes

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real payloads published by others, copied with their provenance (SOURCES.md beside them).
UPSTREAM_EVENTS = REPO_ROOT / "tests" / "fixtures" / "events"


@pytest.fixture
def aws(monkeypatch):
    """AWS on moto, in this process, with credentials and a region that reach nothing real."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # Threads writing one item must see DynamoDB's per-item atomicity, which moto alone does not give.
    with mock_aws(), atomic_dynamodb_writes():
        yield


@pytest.fixture
def store(aws) -> ReleaseStore:
    """A releases table shaped as template.yaml's PromotionsTable (pk, sk), on moto."""
    boto3.client("dynamodb").create_table(
        TableName="promotions-test",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    return ReleaseStore("promotions-test")


@pytest.fixture(scope="session")
def upstream_events() -> Path:
    return UPSTREAM_EVENTS


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
def other_api():
    """A second server, at another origin than `api` (another port): where a redirect may lead."""
    server = ApiServer()
    yield server
    server.close()
