"""The HTTP API on loopback, as API Gateway's HTTP API serves it on AWS: each request under /api/v1 becomes a
payload format 2.0 event for the API function, and its answer becomes the HTTP response.

A bearer token stands in for IAM: a request without it is answered 401 here, as API Gateway answers one its
authorizer refuses, and never reaches the function. One that has it reaches the function with an authorizer
context naming the caller, the way a Lambda authorizer's context arrives on AWS.

Open routes are the ones template.yaml gives no authorizer (the webhooks, Slack's callback): each request
matching one goes to its own function as is, with the route's path parameters, and checks its own signature.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from promotions_local.loopback import LoopbackServer

API_PREFIX = "/api/v1/"
# The routes template.yaml gives the API function; the document alone is served without credentials.
PROTECTED_ROUTE = "ANY /api/v1/{proxy+}"
PUBLIC_ROUTES = {"/api/v1/openapi.json": "GET /api/v1/openapi.json"}
# The dashboard's files carry no data, and a browser opening the page sends no token: they are served
# without one, as the template's dashboard routes name no authorizer. The data the page shows needs it.
DASHBOARD_PATH = "/dashboard"
DASHBOARD_ROUTE = "GET /dashboard/{proxy+}"
LOCAL_ACTOR = "local token holder"
_TEXT_TYPES = ("application/json", "application/problem+json", "text/", "application/x-www-form-urlencoded")

# Takes an HTTP API event and returns the function's result, as Lambda's Invoke would.
ApiFunction = Callable[[dict[str, Any]], Any]


class ApiServer(LoopbackServer):
    """`open_routes` maps route keys such as `POST /webhooks/{provider}` to their functions; `port` 0 takes a
    free one."""

    def __init__(
        self,
        api: ApiFunction,
        token: str,
        *,
        actor: str = LOCAL_ACTOR,
        open_routes: Mapping[str, ApiFunction] | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        if not token:
            raise ValueError("the local API needs a token: an empty one would let every request in")
        self._api = api
        self._token = token
        self._actor = actor
        self._open_routes = dict(open_routes or {})
        # A Lambda instance serves one request at a time, and the handler's resolver holds the current one.
        self._one_at_a_time = {function: threading.Lock() for function in [api, *self._open_routes.values()]}

    def _handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = server.answer(
                    self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def answer(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, source_ip: str = "127.0.0.1"
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one request, as API Gateway in front of the function would give them."""
        path = urlsplit(target).path
        open_route = next((key for key in self._open_routes if route_matches(key, method, path)), None)
        if open_route is not None:
            event = http_api_event(
                method, target, headers, body, route_key=open_route, authorizer=None, source_ip=source_ip
            )
            return self._invoke(self._open_routes[open_route], event)
        dashboard = method == "GET" and (path == DASHBOARD_PATH or path.startswith(f"{DASHBOARD_PATH}/"))
        if not path.startswith(API_PREFIX) and not dashboard:
            return _problem(
                HTTPStatus.NOT_FOUND,
                f"nothing is served at {path}: the API is under {API_PREFIX}, the dashboard at {DASHBOARD_PATH}/",
            )
        route = DASHBOARD_ROUTE if dashboard else PUBLIC_ROUTES.get(path) if method == "GET" else None
        authorized = self._bearer_matches(headers)
        if route is None and not authorized:
            status, answer_headers, payload = _problem(
                HTTPStatus.UNAUTHORIZED, "send the local API's token as Authorization: Bearer <token>"
            )
            return status, {**answer_headers, "WWW-Authenticate": 'Bearer realm="promotions"'}, payload
        event = http_api_event(
            method,
            target,
            headers,
            body,
            route_key=route or PROTECTED_ROUTE,
            authorizer={"lambda": {"actor": self._actor}} if authorized else None,
            source_ip=source_ip,
        )
        return self._invoke(self._api, event)

    def _invoke(self, function: ApiFunction, event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        try:
            with self._one_at_a_time[function]:
                result = function(event)
        except Exception:  # noqa: BLE001 - API Gateway answers a failed invocation this way, whatever failed
            return 500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}'
        return http_response(result)

    def _bearer_matches(self, headers: Mapping[str, str]) -> bool:
        scheme, _, credential = _header(headers, "authorization").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode(), self._token.encode()
        )


def http_api_event(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    route_key: str,
    authorizer: dict[str, Any] | None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0: repeated headers and query parameters joined by
    commas, cookies apart, a body that is not text in base64."""
    parts = urlsplit(target)
    joined_headers: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        joined_headers[key] = f"{joined_headers[key]},{value}" if key in joined_headers else value
    cookies = [c.strip() for c in joined_headers.pop("cookie", "").split(";") if c.strip()]
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    is_text = any(joined_headers.get("content-type", "application/json").startswith(t) for t in _TEXT_TYPES)
    try:
        text = body.decode() if is_text else None
    except UnicodeDecodeError:
        text = None
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": joined_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": joined_headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined_headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": bool(body) and text is None,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    path_parameters = _route_pattern(route_key).fullmatch(parts.path)
    if path_parameters is not None and path_parameters.groupdict():
        event["pathParameters"] = path_parameters.groupdict()
    if body:
        event["body"] = text if text is not None else base64.b64encode(body).decode()
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


def http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """The function's answer as API Gateway turns it into a response (payload format 2.0): a result without
    statusCode is the JSON body of a 200."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()
    headers = {name: str(value) for name, value in (result.get("headers") or {}).items()}
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    cookies = result.get("cookies") or []
    if cookies:
        headers["Set-Cookie"] = ", ".join(cookies)
    return int(result["statusCode"]), headers, payload


def route_matches(route_key: str, method: str, path: str) -> bool:
    """Whether a request is one for the route, as API Gateway matches route keys (`ANY` takes every method)."""
    route_method, _, _ = route_key.partition(" ")
    return route_method in ("ANY", method) and _route_pattern(route_key).fullmatch(path) is not None


def _route_pattern(route_key: str) -> re.Pattern[str]:
    """The route key's path as a pattern: `{name}` takes one path segment, a greedy `{name+}` the rest."""
    _, _, template = route_key.partition(" ")
    pattern = ""
    for literal, name, greedy in re.findall(r"([^{]*)(?:\{(\w+)(\+?)\})?", template):
        pattern += re.escape(literal)
        if name:
            pattern += f"(?P<{name}>{'.+' if greedy else '[^/]+'})"
    return re.compile(pattern)


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _problem(status: HTTPStatus, detail: str) -> tuple[int, dict[str, str], bytes]:
    document = {"type": "about:blank", "title": status.phrase, "status": status.value, "detail": detail}
    return status.value, {"Content-Type": "application/problem+json"}, json.dumps(document).encode()
