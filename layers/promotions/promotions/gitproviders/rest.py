"""What the GitHub, GitLab and Bitbucket providers share: where a host's API is found, one call that turns an
answer into data or an error, reading a listing page by page, and keeping the newest status of each name."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, Protocol
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

from promotions.http import HttpClient, HttpError, HttpResponse, HttpTransientError, origin, redact
from promotions.repo_url import canonical_repo

from .errors import (
    GitProviderAuthError,
    GitProviderConfigError,
    GitProviderError,
    GitProviderNotFound,
    GitProviderRejected,
)
from .models import GitProvider, StatusKind

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class _Numbered(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


def latest_by_name[T: _Numbered](items: Iterable[T]) -> list[T]:
    """The newest (highest id) of each name: hosts keep every status or check run set, and only the last one
    counts for a merge."""
    latest: dict[str, T] = {}
    for item in items:
        if item.name not in latest or item.id > latest[item.name].id:
            latest[item.name] = item
    return list(latest.values())


def repository_path(
    repo_url: str, provider: str, *, min_segments: int = 2, max_segments: int = 2
) -> list[str]:
    """The repository's path segments (`owner`, `name`), validated for the provider's layout."""
    host, _, path = canonical_repo(repo_url).partition("/")
    segments = [segment for segment in path.split("/") if segment]
    if not host or not min_segments <= len(segments) <= max_segments:
        layout = "OWNER/NAME" if max_segments == 2 else "GROUP[/SUBGROUP...]/NAME"
        raise GitProviderConfigError(
            f"{provider} repository URL {repo_url!r} does not name a repository as https://HOST/{layout}"
        )
    return segments


class RestProvider(GitProvider, ABC):
    """A host's REST API. Each host's module subclasses it with the whole of that host's API (GitProvider), and
    says here how its repositories are recognised and where its API is."""

    name: ClassVar[str]
    status_kinds: ClassVar[frozenset[StatusKind]] = frozenset({StatusKind.STATUS})
    cloud_host: ClassVar[str]
    cloud_api_url: ClassVar[str]
    # Where a self-hosted server of this host serves the API, under its own host; None when there is none.
    self_hosted_api_path: ClassVar[str | None] = None
    # Sent with every call, with or without a token.
    api_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, api_url: str, token: str | None, http: HttpClient) -> None:
        """`token` None calls anonymously: public repositories' statuses can be read so."""
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._http = http

    @classmethod
    def recognises(cls, host: str) -> bool:
        """Whether `host` (as promotions.repo_url.canonical_repo names it) runs this API without saying so."""
        return host == cls.cloud_host

    @classmethod
    def api_token(cls, password: str, username: str | None) -> str:
        """The API token from the Git HTTPS credentials that push to the repository."""
        return password

    @abstractmethod
    def _auth_headers(self, token: str) -> dict[str, str]: ...

    @abstractmethod
    def _error_message(self, document: Any) -> str | None:
        """The host's own words from an error body, or None when the body is not its error shape."""

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        return self._document(self._send(method, self._url(path, query), what, json_body=json_body), what)

    def _pages(self, path: str, what: str, query: Mapping[str, str]) -> Iterator[Any]:
        """Each page of a listing, in order."""
        url: str | None = self._url(path, query)
        while url is not None:
            response = self._send("GET", url, what)
            document = self._document(response, what)
            yield document
            url = self._next_page(response, document, what)

    def _next_page(self, response: HttpResponse, document: Any, what: str) -> str | None:
        """The next page from the Link header (rel="next") GitHub and GitLab send."""
        link = _NEXT_LINK.search(_header(response, "link") or "")
        return self._on_this_api(link[1], what) if link else None

    def _on_this_api(self, url: str, what: str) -> str:
        """`url`, if it is on this API's origin: the token goes only where it was configured to go."""
        try:
            same_origin = origin(url) == origin(self.api_url)
        except ValueError:
            same_origin = False
        if not same_origin:
            raise GitProviderError(
                f"{self.name} {what}: the next page, {redact(url)}, is not on {redact(self.api_url)}"
            )
        return url

    def _url(self, path: str, query: Mapping[str, str] | None) -> str:
        return f"{self.api_url}{path}{'?' + urlencode(query) if query else ''}"

    def _send(self, method: str, url: str, what: str, *, json_body: Any = None) -> HttpResponse:
        headers = dict(self.api_headers) | (self._auth_headers(self._token) if self._token else {})
        try:
            return self._http.request(method, url, headers=headers, json_body=json_body)
        except HttpTransientError as error:
            raise HttpTransientError(f"{self.name} {what}: {error}") from None

    def _document(self, response: HttpResponse, what: str) -> Any:
        if response.ok:
            try:
                return response.json()
            except HttpError as error:
                raise GitProviderError(f"{self.name} {what}: {error}") from None
        reason = f"HTTP {response.status}: {self._reason(response)}"
        if _rate_limited(response):
            raise HttpTransientError(f"{self.name} {what}: rate limited, {reason}")
        if response.status in (401, 403):
            raise GitProviderAuthError(f"{self.name} {what}: the token was refused, {reason}")
        if response.status == 404:
            raise GitProviderNotFound(
                f"{self.name} {what}: not found (or not visible to the token), {reason}"
            )
        raise GitProviderRejected(f"{self.name} {what}: {reason}")

    def _parse[Model: BaseModel](self, model: type[Model], document: Any, what: str) -> Model:
        try:
            return model.model_validate(document)
        except ValidationError as error:
            problem = error.errors()[0]
            location = ".".join(str(part) for part in problem["loc"]) or "body"
            raise GitProviderError(
                f"{self.name} {what}: {redact(self.api_url)} answered in another shape than {self.name}'s "
                f"API, {location}: {problem['msg']}"
            ) from None

    def _reason(self, response: HttpResponse) -> str:
        try:
            message = self._error_message(response.json())
        except HttpError:
            message = None
        return " ".join((message or response.body[:200].decode(errors="replace")).split())


def _header(response: HttpResponse, name: str) -> str | None:
    return next((value for key, value in response.headers.items() if key.lower() == name), None)


def _rate_limited(response: HttpResponse) -> bool:
    """429, or GitHub's 403 with Retry-After or X-RateLimit-Remaining 0: the same call may succeed later."""
    if response.status == 429:
        return True
    return response.status == 403 and (
        _header(response, "retry-after") is not None or _header(response, "x-ratelimit-remaining") == "0"
    )
