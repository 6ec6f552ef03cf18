"""What every check kind is: a pydantic model of its configuration that evaluates itself, plus the field
types kinds share. A kind lives in one module and is listed once in the registry."""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from promotions.checks.context import CheckContext
from promotions.checks.outcomes import CheckOutcome, Failed, Integration, Run
from promotions.checks.services import CheckServices, SecretUnavailable
from promotions.checks.templates import UndefinedVariable

Name = Annotated[str, StringConstraints(min_length=1)]

_UNITS = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_ISO_DURATION = TypeAdapter(timedelta)
_DURATION_FORMS = "write it as 30m, 1h30m, 2d, an ISO 8601 duration such as PT1H, or a number of minutes"


def _parse_duration(value: Any) -> Any:
    """Bare numbers are minutes, the unit of promotionTimeoutLimit and of a check's timeout."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(minutes=value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return timedelta(minutes=int(text))
        units = _UNITS.fullmatch(text)
        if text and units:
            return timedelta(
                **{
                    unit: int(units[key] or 0)
                    for unit, key in (("days", "d"), ("hours", "h"), ("minutes", "m"), ("seconds", "s"))
                }
            )
        if text[:1] in ("P", "p"):
            try:
                return _ISO_DURATION.validate_python(text.upper())
            except PydanticValidationError:
                pass
    raise ValueError(f"invalid duration {value!r}: {_DURATION_FORMS}")


def _positive(duration: timedelta) -> timedelta:
    if duration <= timedelta(0):
        raise ValueError("a duration must be longer than zero")
    return duration


Duration = Annotated[timedelta, BeforeValidator(_parse_duration), AfterValidator(_positive)]


def describe_duration(duration: timedelta) -> str:
    """1h30m, 2d4h, 45s: the way durations are written in configuration."""
    seconds = max(0, round(duration.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


class CheckConfig(BaseModel):
    """Our own kind's fields: a misspelt one is an error rather than silently ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class SecretRef(CheckConfig):
    """A Secrets Manager secret ARN or name, alone or as {secret, key} for a field of a JSON secret."""

    secret: Name
    key: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, data: Any) -> Any:
        return {"secret": data} if isinstance(data, str) else data

    def read(self, services: CheckServices) -> str:
        prefix = services.secret_prefix
        if not secret_name(self.secret).startswith(prefix):
            raise SecretUnavailable(
                f"secret {self.secret} is out of the checks' reach: checks read only secrets named {prefix}* "
                "(the stack's CheckResourcePrefix)"
            )
        text = services.secrets.secret_string(self.secret)
        if self.key is None:
            return text
        try:
            fields = json.loads(text)
        except ValueError:
            fields = None
        if not isinstance(fields, dict) or self.key not in fields:
            raise SecretUnavailable(f"secret {self.secret} has no key {self.key}")
        value = fields[self.key]
        return value if isinstance(value, str) else json.dumps(value)


def secret_name(secret_id: str) -> str:
    """The name in a Secrets Manager secret's or SSM parameter's ARN, or `secret_id` when it is a name."""
    for marker in (":secret:", ":parameter/"):
        if secret_id.startswith("arn:") and marker in secret_id:
            return secret_id.split(marker, 1)[1]
    return secret_id


class UnusableContextExport(ValueError):
    """An integration exported a PROMOTION_CONTEXT that is not a JSON object: its answer, not the code, is
    wrong, which is why this is a ValueError whatever the export's type."""


def exported_context(value: Any) -> dict[str, Any]:
    """A PROMOTION_CONTEXT export: a JSON object, or a string holding one (as a Codefresh workflow writes)."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise UnusableContextExport(f"PROMOTION_CONTEXT is not JSON: {value[:200]!r}") from None
    if not isinstance(value, dict):
        raise UnusableContextExport(f"PROMOTION_CONTEXT must be a JSON object, not {type(value).__name__}")
    return value


class CheckKind(CheckConfig, ABC):
    kind: ClassVar[str]
    # Hooks act and notify (Codefresh runs workflows there); gating on time or on other systems' CI is for
    # pre- and post-actions.
    allowed_in_hooks: ClassVar[bool] = False
    # Whether the check can answer "wait"; only those a PromotionCheck timeout can bound.
    polls: ClassVar[bool] = True

    @abstractmethod
    def evaluate(self, context: CheckContext, services: CheckServices) -> CheckOutcome: ...

    def environment_references(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Environments this configuration names, each with its location inside the kind's configuration,
        for the configuration loader to check that they exist."""
        return iter(())


class IntegrationCheck(CheckKind, ABC):
    """A check Step Functions runs through a service integration: evaluation only names what to start, and the
    integration's outcome decides."""

    allowed_in_hooks: ClassVar[bool] = True
    polls: ClassVar[bool] = False
    integration: ClassVar[Integration]

    def evaluate(self, context: CheckContext, services: CheckServices) -> Run | Failed:
        try:
            return Run(integration=self.integration, parameters=self.parameters(context))
        except UndefinedVariable as error:
            return Failed(reason=str(error))

    @abstractmethod
    def parameters(self, context: CheckContext) -> dict[str, Any]:
        """The service integration's Parameters; raises UndefinedVariable for a placeholder nothing fills."""

    @abstractmethod
    def interpret(self, result: Mapping[str, Any]) -> CheckOutcome:
        """`result` is the integration task's output, or the error a Catch recorded ({"Error", "Cause"})."""


def caught_error(result: Mapping[str, Any]) -> tuple[str, Any]:
    """A Catch's {"Error", "Cause"}: the error name and the cause, parsed when it is JSON (a failed .sync
    task's cause is the description of the build or execution)."""
    cause = result.get("Cause", "")
    try:
        return str(result.get("Error", "")), json.loads(cause)
    except (TypeError, ValueError):
        return str(result.get("Error", "")), cause
