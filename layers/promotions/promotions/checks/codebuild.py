"""codebuild: run a CodeBuild project (tests, scans, migrations) and go on if the build succeeds.

Step Functions runs the build (arn:aws:states:::codebuild:startBuild.sync), so no Lambda function waits on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, field_validator

from promotions.checks.context import CheckContext
from promotions.checks.kind import IntegrationCheck, Name, caught_error
from promotions.checks.outcomes import CheckOutcome, Failed, Integration, Passed
from promotions.checks.templates import render_values

_ENVIRONMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CodeBuildCheck(IntegrationCheck):
    """Starts `project` with every promotion variable as a plaintext environment variable, plus
    `environmentVariables` (values may hold `${VAR}` placeholders; they win over promotion variables).
    Codefresh's PATH is passed as APP_PATH, because CodeBuild would take PATH as the build's search path."""

    kind: ClassVar[str] = "codebuild"
    integration: ClassVar[Integration] = "codebuild"

    project: Name
    environment_variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("environment_variables")
    @classmethod
    def _valid_names(cls, variables: dict[str, str]) -> dict[str, str]:
        invalid = [name for name in variables if not _ENVIRONMENT_NAME.fullmatch(name)]
        if invalid:
            raise ValueError(
                f"{', '.join(invalid)}: environment variable names are letters, digits and _, "
                "not starting with a digit"
            )
        return variables

    def parameters(self, context: CheckContext) -> dict[str, Any]:
        variables = context.variables()
        variables["APP_PATH"] = variables.pop("PATH")
        environment = {
            # Promotion-context keys need not be valid variable names; PROMOTION_CONTEXT carries them all.
            **{name: value for name, value in variables.items() if _ENVIRONMENT_NAME.fullmatch(name)},
            **render_values(self.environment_variables, variables),
        }
        return {
            "ProjectName": self.project,
            "EnvironmentVariablesOverride": [
                {"Name": name, "Value": value, "Type": "PLAINTEXT"} for name, value in environment.items()
            ],
        }

    def interpret(self, result: Mapping[str, Any]) -> CheckOutcome:
        """A succeeded .sync task outputs {"Build": {...}}; a failed one, caught, carries the build in its
        Cause."""
        build = result.get("Build")
        if build is None:
            error, cause = caught_error(result)
            build = cause.get("Build") if isinstance(cause, dict) else None
            if build is None:
                return Failed(reason=f"CodeBuild project {self.project} did not run: {error} {cause}".strip())
        status = build.get("BuildStatus", "UNKNOWN")
        if status == "SUCCEEDED":
            return Passed()
        failures = []
        for phase in build.get("Phases", ()):
            if phase.get("PhaseStatus") in (None, "SUCCEEDED"):
                continue
            messages = [context["Message"] for context in phase.get("Contexts", ()) if context.get("Message")]
            failures.append(
                f"{phase['PhaseType']} {phase['PhaseStatus']}" + (f": {messages[0]}" if messages else "")
            )
        detail = f" ({'; '.join(failures)})" if failures else ""
        return Failed(reason=f"CodeBuild build {build.get('Id', self.project)} ended {status}{detail}")
