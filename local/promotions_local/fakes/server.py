"""What every fake API shares: a ThreadingHTTPServer on an ephemeral 127.0.0.1 port that records every request,
answers the routes a fake declares with its JSON and status codes, checks the token the way the real API
expects it, and can fail the next requests with a 5xx."""

from __future__ import annotations

import functools
import json
import re
import secrets
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from promotions_local.loopback import LoopbackServer


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: `path` keeps its percent-encoding, `headers` are lower-cased, `body` is parsed
    JSON (or the text when it is not JSON)."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: Any

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    respond: Callable[[dict[str, str], RecordedRequest], Answer]


@dataclass(frozen=True)
class Page:
    """One page of a listing, and the URL of the next when there is one."""

    items: list[Any]
    number: int
    size: int
    next_url: str | None


_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def is_full_sha(ref: str) -> bool:
    """Whether `ref` is a whole commit hash. The fakes know no commits: any whole hash names one."""
    return _FULL_SHA.fullmatch(ref) is not None


def timestamp_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def random_sha() -> str:
    return secrets.token_hex(20)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
    return credentials if scheme.lower() == "bearer" else None


class FakeApi(LoopbackServer, ABC):
    """Server, request log and failure injection, shared by every fake; subclasses declare the routes."""

    def __init__(self, token: str, path_prefix: str) -> None:
        self._token = token
        self._path_prefix = path_prefix.rstrip("/")
        self._lock = threading.RLock()
        self._requests: list[RecordedRequest] = []
        self._failures: deque[Answer] = deque()
        super().__init__()

    @abstractmethod
    def _routes(self) -> list[Route]: ...

    @abstractmethod
    def _authorized(self, headers: Mapping[str, str]) -> bool: ...

    @abstractmethod
    def _unauthorized(self) -> Answer: ...

    @abstractmethod
    def _not_found(self, path: str) -> Answer: ...

    def _handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        return functools.partial(_Handler, self)

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def api_url(self) -> str:
        """The base URL a client is configured with (the server URL plus the API's path prefix)."""
        return f"{self.url}{self._path_prefix}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def fail_next(self, status: int = 503, times: int = 1, headers: Mapping[str, str] | None = None) -> None:
        """Answer the next `times` requests with `status` (and `headers`), whatever they ask."""
        failure = Answer(status, {"message": "injected failure"}, dict(headers or {}))
        with self._lock:
            self._failures.extend([failure] * times)

    def _answer(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Answer, bytes]:
        """The answer and its JSON, serialised under the lock: a concurrent merge is never seen half done."""
        parts = urlsplit(raw_path)
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = body.decode(errors="replace")
        request = RecordedRequest(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in headers.items()},
            body=document,
        )
        with self._lock:
            self._requests.append(request)
            answer = self._dispatch(request)
            return answer, json.dumps(answer.body).encode()

    def _dispatch(self, request: RecordedRequest) -> Answer:
        if self._failures:
            return self._failures.popleft()
        if not self._authorized(request.headers):
            return self._unauthorized()
        for route in self._routes():
            match = route.pattern.match(request.path)
            if match and route.method == request.method:
                captured = {name: unquote(value) for name, value in match.groupdict().items()}
                return route.respond(captured, request)
        return self._not_found(request.path)

    def _page(
        self, request: RecordedRequest, items: list[Any], *, size_param: str, default_size: int
    ) -> Page:
        """The page `request` asks for (`page`, from 1, and `size_param`, at most 100 items)."""
        size = min(_number(request.param(size_param), default_size), 100)
        number = _number(request.param("page"), 1)
        next_url = None
        if number * size < len(items):
            query = {name: values[0] for name, values in request.query.items()} | {"page": str(number + 1)}
            next_url = f"{self.url}{request.path}?{urlencode(query)}"
        return Page(items[(number - 1) * size : number * size], number, size, next_url)

    def _route(
        self, method: str, pattern: str, respond: Callable[[dict[str, str], RecordedRequest], Answer]
    ) -> Route:
        return Route(method, re.compile(f"^{re.escape(self._path_prefix)}{pattern}$"), respond)


def _number(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and int(text) > 0 else default


def link_header(page: Page) -> dict[str, str]:
    """The Link header GitHub and GitLab page with."""
    return {"Link": f'<{page.next_url}>; rel="next"'} if page.next_url else {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A body larger than one segment otherwise waits for the client's delayed ACK: 40 ms a request.
    disable_nagle_algorithm = True

    def __init__(self, fake: FakeApi, *args: Any) -> None:
        self._fake = fake
        super().__init__(*args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer, payload = self._fake._answer(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass
