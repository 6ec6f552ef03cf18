"""What can be wrong with a configuration, said so a person can find and fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class ConfigProblem:
    """One problem in one file; `line` is 1-based, or None when the problem concerns the whole file."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line is not None
            else f"{self.file}: {self.message}"
        )


def in_order(problems: Iterable[ConfigProblem]) -> tuple[ConfigProblem, ...]:
    """By file, then line, then message."""
    return tuple(sorted(problems, key=lambda problem: (problem.file, problem.line or 0, problem.message)))


class ConfigError(ValueError):
    """The configuration is invalid; `problems` lists every problem found, ordered by file and line, and
    `warnings` what was accepted but ignored, as a valid configuration's `warnings` does."""

    def __init__(self, problems: Iterable[ConfigProblem], warnings: Iterable[ConfigProblem] = ()) -> None:
        self.problems = in_order(problems)
        self.warnings = in_order(warnings)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class NotDefinedError(LookupError):
    """A query named a product, environment, flow or application the configuration does not define."""

    def __str__(self) -> str:
        return str(self.args[0])


class TemplateError(ValueError):
    """No PromotionTemplate applies to a product."""


class PolicyError(ValueError):
    """The matching policies and the flow step leave a product's promotion into an environment without an action."""


class NoValidConfiguration(RuntimeError):
    """The configuration at the branch tip is invalid and no earlier revision was ever valid."""
