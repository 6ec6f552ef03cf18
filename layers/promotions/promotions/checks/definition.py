"""The PromotionCheck configuration kind: a named check that PromotionPolicy preAction/postAction and
PromotionFlow hooks refer to (where Codefresh names Argo WorkflowTemplates).

    apiVersion: promotions.dev/v1alpha1
    kind: PromotionCheck
    metadata: {name: smoke-tests}
    spec:
      http: {url: https://smoke.example/run}   # exactly one kind key, see promotions.checks.registry
      timeout: 30                              # minutes; bounds how long the check may keep waiting
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from pydantic import (
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from promotions.checks.kind import CheckKind, Name
from promotions.checks.registry import CHECK_KINDS

_KIND_LIST = ", ".join(sorted(CHECK_KINDS))


def _problem(location: tuple[str, ...], value: Any, message: str) -> InitErrorDetails:
    # The message goes in as context so braces in it are not taken for template fields.
    return {
        "type": PydanticCustomError("promotion_check", "{message}", {"message": message}),
        "loc": location,
        "input": value,
    }


def _field(kind: str) -> str:
    return f"{kind}_check"


class _CheckSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Minutes, like a flow's promotionTimeoutLimit.
    timeout: PositiveInt | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _one_known_kind(cls, data: Any, handler: Callable[[Any], _CheckSpec]) -> _CheckSpec:
        """Problems point at the offending key, so the loader reports the line it is on."""
        if not isinstance(data, Mapping):
            return handler(data)
        problems = [
            _problem((key,), value, f"not a check kind (use one of {_KIND_LIST})")
            for key, value in data.items()
            if key not in CHECK_KINDS and key != "timeout"
        ]
        kinds = [key for key in data if key in CHECK_KINDS]
        if not problems and len(kinds) != 1:
            found = " and ".join(kinds) or "none"
            problems.append(_problem((), data, f"give exactly one check kind ({_KIND_LIST}); found {found}"))
        elif not problems and "timeout" in data and not CHECK_KINDS[kinds[0]].polls:
            problems.append(
                _problem(
                    ("timeout",),
                    data["timeout"],
                    f"{kinds[0]} checks never wait, so a timeout does not apply: "
                    f"bound the {kinds[0]} run itself",
                )
            )
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return handler(data)

    @property
    def kind(self) -> str:
        return next(kind for kind in CHECK_KINDS if getattr(self, _field(kind)) is not None)

    @property
    def config(self) -> CheckKind:
        return getattr(self, _field(self.kind))


# One optional field per check kind, built from the registry at import time: types as values, hence Any.
_KIND_FIELDS: dict[str, Any] = {
    _field(kind): (model | None, Field(None, alias=kind)) for kind, model in CHECK_KINDS.items()
}
CheckSpec = create_model("CheckSpec", __base__=_CheckSpec, **_KIND_FIELDS)


class PromotionCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name = Field(validation_alias=AliasPath("metadata", "name"))
    spec: CheckSpec

    @property
    def kind(self) -> str:
        """The spec key that chose the kind (see promotions.checks.registry)."""
        return self.spec.kind

    @property
    def config(self) -> CheckKind:
        return self.spec.config

    @property
    def timeout(self) -> timedelta | None:
        return timedelta(minutes=self.spec.timeout) if self.spec.timeout is not None else None

    @property
    def allowed_in_hooks(self) -> bool:
        return self.config.allowed_in_hooks
