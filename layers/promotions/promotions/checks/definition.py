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

import functools
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from pydantic import (
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    SerializeAsAny,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from promotions.checks.kind import CheckKind, Name
from promotions.checks.registry import CHECK_KINDS, check_kind

_KIND_LIST = ", ".join(sorted(CHECK_KINDS))


def _problem(location: tuple[str, ...], value: Any, message: str) -> InitErrorDetails:
    # The message goes in as context so braces in it are not taken for template fields.
    return {
        "type": PydanticCustomError("promotion_check", "{message}", {"message": message}),
        "loc": location,
        "input": value,
    }


class CheckSpec(BaseModel):
    """A check's spec: its timeout, and its kind's configuration under the kind's key. Each kind's spec is a model
    of its own, made when a spec first names the kind, so that only the kinds named are imported."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Minutes, like a flow's promotionTimeoutLimit.
    timeout: PositiveInt | None = None
    config: CheckKind

    @model_validator(mode="wrap")
    @classmethod
    def _one_known_kind(cls, data: Any, handler: Callable[[Any], CheckSpec]) -> CheckSpec:
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
        elif not problems and "timeout" in data and not check_kind(kinds[0]).polls:
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
        spec = _kind_spec(kinds[0])
        return handler(data) if cls is spec else spec.model_validate(data)

    @classmethod
    def model_for_key(cls, key: str) -> type[CheckSpec] | None:
        """The model a spec holding `key` validates with, or None when `key` names no kind: the configuration
        loader reads off it which fields may be written under a kind's key."""
        return _kind_spec(key) if key in CHECK_KINDS else None

    @property
    def kind(self) -> str:
        """The spec key that chose the kind (see promotions.checks.registry)."""
        return self.config.kind


@functools.cache
def _kind_spec(kind: str) -> type[CheckSpec]:
    """The spec of a `kind` check, its configuration read from the key `kind`."""
    model = check_kind(kind)
    return create_model(f"{model.__name__}Spec", __base__=CheckSpec, config=(model, Field(alias=kind)))


class PromotionCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name = Field(validation_alias=AliasPath("metadata", "name"))
    # An instance of its kind's spec, which holds the kind's fields.
    spec: SerializeAsAny[CheckSpec]

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
