"""What the GitHub, GitLab and Bitbucket adapters share: one call that turns an answer into data or error."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

from promotions.http import HttpClient, HttpError, HttpResponse, HttpTransientError
from promotions.repo_url import canonical_repo

from .errors import (
    PullRequestAuthError,
    PullRequestConfigError,
    PullRequestError,
    PullRequestNotFound,
    PullRequestRejected,
)


def repository_path(
    repo_url: str, provider: str, *, min_segments: int = 2, max_segments: int = 2
) -> list[str]:
    """The repository's path segments (`owner`, `name`), validated for the provider's layout."""
    host, _, path = canonical_repo(repo_url).partition("/")
    segments = [segment for segment in path.split("/") if segment]
    if not host or not min_segments <= len(segments) <= max_segments:
        layout = "OWNER/NAME" if max_segments == 2 else "GROUP[/SUBGROUP...]/NAME"
        raise PullRequestConfigError(
            f"{provider} repository URL {repo_url!r} does not name a repository as https://HOST/{layout}"
        )
    return segments


class RestProvider(ABC):
    name: ClassVar[str]

    def __init__(self, api_url: str, token: str, http: HttpClient) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._http = http

    @abstractmethod
    def _auth_headers(self) -> dict[str, str]: ...

    @abstractmethod
    def _error_message(self, document: Any) -> str | None:
        """The provider's own words from an error body, or None when the body is not its error shape."""

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        url = f"{self.api_url}{path}{'?' + urlencode(query) if query else ''}"
        response = self._http.request(method, url, headers=self._auth_headers(), json_body=json_body)
        if response.ok:
            try:
                return response.json()
            except HttpError as error:
                raise PullRequestError(f"{self.name} {what}: {error}") from None
        reason = f"HTTP {response.status}: {self._reason(response)}"
        if _rate_limited(response):
            raise HttpTransientError(f"{self.name} {what}: rate limited, {reason}")
        if response.status in (401, 403):
            raise PullRequestAuthError(f"{self.name} {what}: the token was refused, {reason}")
        if response.status == 404:
            raise PullRequestNotFound(
                f"{self.name} {what}: not found (or not visible to the token), {reason}"
            )
        raise PullRequestRejected(f"{self.name} {what}: {reason}")

    def _parse[Model: BaseModel](self, model: type[Model], document: Any, what: str) -> Model:
        try:
            return model.model_validate(document)
        except ValidationError as error:
            problem = error.errors()[0]
            location = ".".join(str(part) for part in problem["loc"]) or "body"
            raise PullRequestError(
                f"{self.name} {what}: unexpected response, {location}: {problem['msg']}"
            ) from None

    def _reason(self, response: HttpResponse) -> str:
        try:
            message = self._error_message(response.json())
        except HttpError:
            message = None
        return " ".join((message or response.body[:200].decode(errors="replace")).split())


def _rate_limited(response: HttpResponse) -> bool:
    """429, or GitHub's 403 with Retry-After or X-RateLimit-Remaining 0: the same call may succeed later."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    if response.status == 429:
        return True
    return response.status == 403 and (
        "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    )
