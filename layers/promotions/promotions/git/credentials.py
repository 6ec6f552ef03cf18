"""Git HTTPS credentials per repository URL prefix, read from one Secrets Manager secret or one SSM
SecureString parameter (given by its ARN, `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`), cached 5 minutes.

The secret is a JSON object whose keys are URL prefixes. A prefix covers a repository URL at the same origin
(scheme, host and port, default ports implied) whose path starts with the prefix's whole path segments:
`https://github.com/acme` covers `https://github.com:443/acme/app.git`, not `https://github.com/acme-x/app.git`
nor `https://github.com.example.net/acme/app.git`. The prefix with the most segments wins, so one organisation
can use a different token than the rest of its host:

    {"https://github.com/acme/": {"username": "x-access-token", "password": "ghp_..."},
     "https://gitlab.example.com/": {"token": "glpat-..."}}

`token` alone means username x-access-token (GitHub) — give username oauth2 for GitLab, or your
Bitbucket user name. Credentials are never logged and never part of an error message. A repository URL with
user information in it is refused (`promotions.repo_url.refuse_userinfo`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from urllib3.util import parse_url

from promotions.git.models import HttpCredentials
from promotions.http import origin
from promotions.repo_url import path_segments, refuse_userinfo

_CACHE_SECONDS = 300
_SSM_PARAMETER_ARN = re.compile(r"arn:aws[a-z-]*:ssm:[^:]*:[^:]*:parameter/")


def is_ssm_parameter_arn(secret_id: str) -> bool:
    """Whether `secret_id` names an SSM parameter (by its ARN) rather than a Secrets Manager secret."""
    return _SSM_PARAMETER_ARN.match(secret_id) is not None


class CredentialsSecretError(ValueError):
    """The credentials secret is not the documented JSON shape; the message names the prefix, not the values."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = "x-access-token"
    password: str

    @model_validator(mode="before")
    @classmethod
    def _token_alone(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "token" in data and "password" not in data:
            return {**{k: v for k, v in data.items() if k != "token"}, "password": data["token"]}
        return data


class GitCredentials:
    def __init__(self, secret_id: str | None, read_secret: Callable[[str], Any] | None = None) -> None:
        self._secret_id = secret_id or None
        self._read_secret = read_secret or _read_json

    def for_url(self, url: str) -> HttpCredentials | None:
        """The credentials for repository `url`, or None. Raises RepositoryUrlError for an http(s) URL with
        user information, CredentialsSecretError for a malformed secret."""
        refuse_userinfo(url)
        location = _location(url)
        if self._secret_id is None or location is None:
            return None
        entries = self._read_secret(self._secret_id)
        if not isinstance(entries, Mapping):
            raise CredentialsSecretError(
                f"secret {self._secret_id} must hold a JSON object of URL prefix → credentials"
            )
        covering = {prefix: self._prefix_location(prefix) for prefix in entries}
        matches = [prefix for prefix, covered in covering.items() if location.within(covered)]
        if not matches:
            return None
        prefix = max(matches, key=lambda match: len(covering[match].segments))
        try:
            entry = _Entry.model_validate(entries[prefix])
        except ValidationError as error:
            fields = ", ".join(".".join(map(str, problem["loc"])) or "entry" for problem in error.errors())
            raise CredentialsSecretError(
                f"secret {self._secret_id}: credentials for {prefix} are malformed ({fields}); "
                "give {username, password} or {token}"
            ) from None
        return HttpCredentials(username=entry.username, password=entry.password)

    def _prefix_location(self, prefix: str) -> _Location:
        location = _location(prefix)
        if location is None:
            raise CredentialsSecretError(
                f"secret {self._secret_id}: key {prefix!r} is not an http(s)://HOST[/PATH] URL prefix"
            )
        return location


@dataclass(frozen=True)
class _Location:
    """Where a request for a URL goes: its origin, and the repository path's segments."""

    origin: tuple[str, str, int]
    segments: tuple[str, ...]

    def within(self, prefix: _Location) -> bool:
        return self.origin == prefix.origin and self.segments[: len(prefix.segments)] == prefix.segments


def _location(url: str) -> _Location | None:
    """`url`'s location as urllib3 will request it (dot segments resolved), or None when it is no http(s) URL."""
    try:
        return _Location(origin(url), path_segments(parse_url(url.strip()).path or ""))
    except ValueError:
        return None


def _read_json(secret_id: str) -> Any:
    # Imported on first use: it imports boto3 and the AppConfig provider (about 50 ms of a cold start), and
    # only reading the secret needs it.
    from aws_lambda_powertools.utilities import parameters

    if is_ssm_parameter_arn(secret_id):
        # GetParameter takes the ARN as the name.
        return parameters.get_parameter(secret_id, decrypt=True, transform="json", max_age=_CACHE_SECONDS)
    return parameters.get_secret(secret_id, transform="json", max_age=_CACHE_SECONDS)
