"""Git HTTPS credentials per repository URL prefix, read from one Secrets Manager secret or one SSM
SecureString parameter (given by its ARN, `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`), cached 5 minutes.

The secret is a JSON object whose keys are URL prefixes; the longest prefix that starts a repository's
URL wins, so one organisation can use a different token than the rest of its host:

    {"https://github.com/acme/": {"username": "x-access-token", "password": "ghp_..."},
     "https://gitlab.example.com/": {"token": "glpat-..."}}

`token` alone means username x-access-token (GitHub) — give username oauth2 for GitLab, or your
Bitbucket user name. Credentials are never logged and never part of an error message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from promotions.git import HttpCredentials

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
        if self._secret_id is None or not url.lower().startswith(("http://", "https://")):
            return None
        entries = self._read_secret(self._secret_id)
        if not isinstance(entries, Mapping):
            raise CredentialsSecretError(
                f"secret {self._secret_id} must hold a JSON object of URL prefix → credentials"
            )
        matches = [prefix for prefix in entries if _normalised(url).startswith(_normalised(prefix))]
        if not matches:
            return None
        prefix = max(matches, key=len)
        try:
            entry = _Entry.model_validate(entries[prefix])
        except ValidationError as error:
            fields = ", ".join(".".join(map(str, problem["loc"])) or "entry" for problem in error.errors())
            raise CredentialsSecretError(
                f"secret {self._secret_id}: credentials for {prefix} are malformed ({fields}); "
                "give {username, password} or {token}"
            ) from None
        return HttpCredentials(username=entry.username, password=entry.password)


def _read_json(secret_id: str) -> Any:
    if is_ssm_parameter_arn(secret_id):
        # GetParameter takes the ARN as the name.
        return parameters.get_parameter(secret_id, decrypt=True, transform="json", max_age=_CACHE_SECONDS)
    return parameters.get_secret(secret_id, transform="json", max_age=_CACHE_SECONDS)


def _normalised(url: str) -> str:
    """Scheme and host compare case-insensitively; the path keeps its case."""
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"
