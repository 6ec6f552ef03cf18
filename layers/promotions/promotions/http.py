"""One small JSON-over-HTTP client for every API the engine calls (Git providers, Argo CD, checks).

urllib3 comes with botocore, so the layer gains no dependency; its pool is thread-safe. Only transport
failures and 5xx answers raise by default: a 4xx is an answer the caller interprets, and so is a redirect past
the fifth.

Redirects are followed (GitHub answers 301 or 307 for a renamed or transferred repository). One that leaves
the request's origin (scheme, host and port) carries none of the caller's headers: any of them may be a
credential (Authorization, GitLab's PRIVATE-TOKEN, an http check's secret header), and a credential is for
the origin it was configured for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import urllib3
from urllib3.connection import port_by_scheme
from urllib3.util import parse_url

from promotions.errors import TransientError

_DEFAULT_TIMEOUT = urllib3.Timeout(connect=5.0, read=30.0)
# Redirects only: a failed call is not repeated here, callers retry a transient error on their own schedule
# (connect and read errors are raised as they are, any other after its one attempt).
_REDIRECTS_ONLY = urllib3.Retry(
    total=None, connect=False, read=False, other=0, redirect=5, raise_on_redirect=False
)


class HttpError(RuntimeError):
    """An HTTP call failed; the message names method and URL, never credentials."""


class HttpTransientError(HttpError, TransientError):
    """Connection refused or reset, a timeout, or a 5xx: the same call may succeed later."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as error:
            raise HttpError(f"expected JSON, got {self.body[:200]!r}") from error


class HttpRequester(Protocol):
    """HttpClient's shape, for the clients and checks that tests give a fake or a local server."""

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        body: bytes | str | None = None,
    ) -> HttpResponse: ...


class HttpClient:
    def __init__(self, *, timeout: urllib3.Timeout = _DEFAULT_TIMEOUT) -> None:
        self._pool = urllib3.PoolManager(timeout=timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        body: bytes | str | None = None,
    ) -> HttpResponse:
        sent_headers = {"Accept": "application/json", "User-Agent": "promotions", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent_headers.setdefault("Content-Type", "application/json")
        # urllib3 drops these on a redirect that leaves the origin (`is_same_host` compares scheme, host and
        # port), and they stay dropped for the rest of the chain.
        retries = _REDIRECTS_ONLY.new(
            remove_headers_on_redirect=urllib3.Retry.DEFAULT_REMOVE_HEADERS_ON_REDIRECT | set(headers or {})
        )
        try:
            response = self._pool.request(
                method, url, headers=sent_headers, body=body, redirect=True, retries=retries
            )
        except urllib3.exceptions.MaxRetryError as error:
            raise HttpTransientError(f"{method} {redact(url)}: {type(error.reason).__name__}") from None
        except urllib3.exceptions.HTTPError as error:
            raise HttpTransientError(f"{method} {redact(url)}: {type(error).__name__}") from None
        if response.status >= 500:
            raise HttpTransientError(f"{method} {redact(url)}: HTTP {response.status}")
        return HttpResponse(status=response.status, body=response.data, headers=dict(response.headers))


def redact(url: str) -> str:
    """The URL without user information or query string, which may carry tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def origin(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an http(s) URL as urllib3 reaches it: lower-cased, the default port filled in.
    A credential belongs to one origin. Raises ValueError when `url` is no http(s) URL."""
    parts = parse_url(url.strip())
    if parts.scheme not in port_by_scheme or not parts.host:
        raise ValueError(f"{redact(url)!r} is not an http(s) URL")
    return parts.scheme, parts.host, parts.port or port_by_scheme[parts.scheme]
