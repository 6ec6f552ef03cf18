"""http: call an endpoint (a smoke test, a health probe, a notification) and go on when its answer is good."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

import jsonpath_rfc9535
from pydantic import BeforeValidator, Field, PositiveInt, field_validator, model_validator

from promotions.checks.context import CheckContext
from promotions.checks.kind import CheckConfig, CheckKind, Name, SecretRef, exported_context
from promotions.checks.outcomes import CheckOutcome, Failed, Passed, Wait
from promotions.checks.services import CheckServices, SecretUnavailable
from promotions.checks.templates import UndefinedVariable, render, render_values
from promotions.http import HttpError, HttpResponse, HttpTransientError, redact

Method = Annotated[
    Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value),
]


class HeaderValue(CheckConfig):
    """A literal value, which may hold placeholders, or {secret, key} read from Secrets Manager."""

    value: str | None = None
    secret: Name | None = None
    # A field of a secret stored as a JSON object.
    key: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _literal(cls, data: Any) -> Any:
        return {"value": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> HeaderValue:
        if (self.value is None) == (self.secret is None):
            raise ValueError("give a value or a secret")
        if self.key is not None and self.secret is None:
            raise ValueError("key picks a field of a secret: give the secret too")
        return self

    def resolve(self, variables: dict[str, str], services: CheckServices) -> str:
        if self.value is not None:
            return render(self.value, variables)
        assert self.secret is not None, "_one_source lets through no header without a value or a secret"
        return SecretRef(secret=self.secret, key=self.key).read(services)


class SuccessCondition(CheckConfig):
    # Accepted answer statuses; none listed means any 2xx.
    status: tuple[int, ...] = ()
    # An RFC 9535 JSONPath into the JSON answer; it must select something.
    json_path: str | None = None
    # What the first node json_path selects must equal (any JSON value, null included, when given).
    equals: Any = None

    @field_validator("json_path")
    @classmethod
    def _valid_json_path(cls, expression: str) -> str:
        try:
            jsonpath_rfc9535.compile(expression)
        except jsonpath_rfc9535.JSONPathError as error:
            raise ValueError(f"invalid JSONPath {expression!r}: {error.args[0]}") from None
        return expression

    def unmet(self, response: HttpResponse, call: str) -> str | None:
        """Why the answer does not satisfy the condition, or None when it does."""
        if not (response.status in self.status if self.status else response.ok):
            expected = ", ".join(map(str, self.status)) if self.status else "2xx"
            return f"{call} answered HTTP {response.status}, expected {expected}"
        if self.json_path is None:
            return None
        try:
            document = response.json()
        except HttpError:
            return f"{call} answered HTTP {response.status} without JSON, so {self.json_path} cannot be read"
        nodes = jsonpath_rfc9535.find(self.json_path, document)
        if not nodes:
            return f"{call} answered without {self.json_path}"
        if "equals" in self.model_fields_set and nodes[0].value != self.equals:
            found, expected = json.dumps(nodes[0].value), json.dumps(self.equals)
            return f"{call} answered {self.json_path} = {found}, expected {expected}"
        return None


class HttpCheck(CheckKind):
    """Calls `url` with `${VAR}` placeholders filled from the promotion's variables (URL-encoded in the URL).
    A structured `body` is sent as JSON with its strings rendered; a string body is rendered and sent as is.
    Without `pollSeconds` an unmet `successWhen` fails at once; with it the call is repeated until it is met
    or the check's timeout runs out. A JSON answer with a top-level PROMOTION_CONTEXT object exports it, as a
    Codefresh hook workflow's output of that name does."""

    kind: ClassVar[str] = "http"
    allowed_in_hooks: ClassVar[bool] = True

    url: str
    method: Method = "GET"
    headers: dict[str, HeaderValue] = Field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] | None = None
    success_when: SuccessCondition = Field(default_factory=SuccessCondition)
    poll_seconds: PositiveInt | None = None

    @field_validator("url")
    @classmethod
    def _absolute_http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be an absolute http(s) URL, not {url!r}")
        return url

    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome:
        variables = context.variables()
        try:
            url = render(self.url, variables, escape=lambda value: quote(value, safe=""))
            headers = {name: value.resolve(variables, services) for name, value in self.headers.items()}
            body = render_values(self.body, variables)
        except (UndefinedVariable, SecretUnavailable) as error:
            return Failed(reason=str(error))
        call = f"{self.method} {redact(url)}"
        try:
            response = services.http.request(
                self.method,
                url,
                headers=headers,
                json_body=body if isinstance(body, dict | list) else None,
                body=body if isinstance(body, str) else None,
            )
        except HttpTransientError as error:
            unmet: str | None = str(error)
        else:
            unmet = self.success_when.unmet(response, call)
        if unmet is None:
            return _passed_with_export(response, call)
        if self.poll_seconds is not None:
            return Wait(seconds=self.poll_seconds, reason=unmet)
        return Failed(reason=unmet)


def _passed_with_export(response: HttpResponse, call: str) -> CheckOutcome:
    try:
        document = response.json()
    except HttpError:
        return Passed()
    if not isinstance(document, dict) or "PROMOTION_CONTEXT" not in document:
        return Passed()
    try:
        return Passed(context_update=exported_context(document["PROMOTION_CONTEXT"]))
    except ValueError as error:
        return Failed(reason=f"{call}: {error}")
